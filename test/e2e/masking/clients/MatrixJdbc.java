// pgjdbc through the pamc gateway, for the strategy x type matrix.
// Run: java -cp /usr/share/java/postgresql.jar MatrixJdbc.java <jdbc-url> <token> < lines of {"id","sql"}
// Each query runs as one PreparedStatement 7 times: the first runs have text results, after the
// fifth pgjdbc switches to a named statement with binary results and no Describe. Prints the
// rows of the first run ("text") and of the seventh ("binary"), each value "Class:getString".
import java.io.*;
import java.sql.*;
import java.util.*;

public class MatrixJdbc {
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
        else b.append(n);
      } else if (c == '"') break;
      else b.append(c);
    }
    return b.toString();
  }

  static String rows(ResultSet r) throws SQLException {
    List<String> rows = new ArrayList<>();
    int n = r.getMetaData().getColumnCount();
    while (r.next()) {
      List<String> vals = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        Object o = r.getObject(i);
        String shown = o instanceof byte[] ? java.util.HexFormat.of().formatHex((byte[]) o) : r.getString(i);
        vals.add(q(o == null ? "null" : o.getClass().getSimpleName() + ":" + shown));
      }
      rows.add("[" + String.join(",", vals) + "]");
    }
    return "[" + String.join(",", rows) + "]";
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "agent");
    props.setProperty("password", args[1]);
    props.setProperty("sslmode", "disable");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    try (Connection c = DriverManager.getConnection(args[0], props)) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isBlank()) continue;
        StringBuilder out = new StringBuilder("{\"id\":" + q(field(line, "id")));
        try (PreparedStatement ps = c.prepareStatement(field(line, "sql"))) {
          for (int run = 1; run <= 7; run++) {
            try (ResultSet r = ps.executeQuery()) {
              String got = rows(r);
              if (run == 1) out.append(",\"text\":").append(got);
              if (run == 7) out.append(",\"binary\":").append(got);
            }
          }
        } catch (Exception e) {
          out.append(",\"error\":" + q(e.toString()));
        }
        System.out.println(out.append("}"));
        System.out.flush();
      }
    }
  }
}
