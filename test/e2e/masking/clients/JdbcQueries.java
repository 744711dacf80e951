// pgjdbc through the pamc gateway (via the masking tests' byte tap).
// Run: java -cp /usr/share/java/postgresql.jar JdbcQueries.java <jdbc-url> <token> < queries.json-lines
// Each stdin line is {"id": ..., "sql": ...}; for each, on a connection of its own, a
// PreparedStatement runs 7 times: pgjdbc switches to a named server-side statement after 5 and
// then asks for binary results and executes without Describe. Every column of every row is
// read with getObject (the driver decodes it) and getString. Prints one JSON line per query.
import java.io.*;
import java.sql.*;
import java.util.*;

public class JdbcQueries {
  static String q(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static String field(String line, String name) {
    int i = line.indexOf("\"" + name + "\":\"");
    if (i < 0) return null;
    StringBuilder b = new StringBuilder();
    for (int j = i + name.length() + 4; j < line.length(); j++) {
      char c = line.charAt(j);
      if (c == '\\') {
        char n = line.charAt(++j);
        if (n == 'u') { b.append((char) Integer.parseInt(line.substring(j + 1, j + 5), 16)); j += 4; }
        else if (n == 'n') b.append('\n');
        else if (n == 't') b.append('\t');
        else b.append(n);
      } else if (c == '"') break;
      else b.append(c);
    }
    return b.toString();
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "agent");
    props.setProperty("password", args[1]);
    props.setProperty("sslmode", "disable");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isBlank()) continue;
      String id = field(line, "id");
      String sql = field(line, "sql");
      StringBuilder out = new StringBuilder("{\"id\":" + q(id));
      try (Connection c = DriverManager.getConnection(args[0], props); PreparedStatement ps = c.prepareStatement(sql)) {
        List<String> rows = new ArrayList<>();
        for (int run = 0; run < 7; run++) {
          rows.clear();
          try (ResultSet r = ps.executeQuery()) {
            int n = r.getMetaData().getColumnCount();
            while (r.next()) {
              List<String> vals = new ArrayList<>();
              for (int i = 1; i <= n; i++) {
                Object o = r.getObject(i);
                vals.add(q(o == null ? null : o.getClass().getSimpleName() + ":" + r.getString(i)));
              }
              rows.add("[" + String.join(",", vals) + "]");
            }
          }
        }
        out.append(",\"rows\":[").append(String.join(",", rows)).append("]");
      } catch (SQLException e) {
        out.append(",\"error\":{\"code\":" + q(e.getSQLState()) + ",\"message\":" + q(e.getMessage()) + "}");
      } catch (Exception e) {
        out.append(",\"error\":{\"code\":null,\"message\":" + q(e.toString()) + "}");
      }
      System.out.println(out.append("}"));
      System.out.flush();
    }
  }
}
