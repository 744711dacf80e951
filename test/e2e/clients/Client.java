// pgjdbc through the pamc gateway: prints one JSON-ish line per step (the test reads them).
// Run: java -cp /usr/share/java/postgresql.jar Client.java <jdbc-url> <token>
// pgjdbc uses the extended protocol even for plain statements; after prepareThreshold (5)
// executions of one PreparedStatement it switches to a named server-side statement (S_1 ...),
// then executes it with no Describe and asks for binary results.
import java.sql.*;
import java.util.*;

public class Client {
  static void step(String name, String json) {
    System.out.println("{\"step\":\"" + name + "\"," + json + "}");
    System.out.flush();
  }

  static String q(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  static String err(SQLException e) {
    String msg = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
    return "\"error\":{\"code\":" + q(e.getSQLState()) + ",\"message\":" + q(msg) + "}";
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "agent");
    props.setProperty("password", args[1]);
    props.setProperty("sslmode", "disable");
    try (Connection c = DriverManager.getConnection(args[0], props)) {
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM orders")) {
        r.next();
        step("statement", "\"count\":" + r.getLong(1));
      }
      List<String> got = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id, amount, status FROM orders WHERE id = ?")) {
        for (int i = 1; i <= 8; i++) {
          ps.setInt(1, i);
          try (ResultSet r = ps.executeQuery()) {
            r.next();
            got.add(r.getInt(1) + ":" + r.getBigDecimal(2) + ":" + r.getString(3));
          }
        }
      }
      step("prepared", "\"rows\":[" + String.join(",", got.stream().map(Client::q).toList()) + "]");
      try (Statement s = c.createStatement()) {
        s.executeQuery("SELECT * FROM secrets");
        step("denied", "\"error\":null");
      } catch (SQLException e) {
        step("denied", err(e));
      }
      // the denied statement again as a prepared statement, past the threshold
      int denials = 0;
      try (PreparedStatement ps = c.prepareStatement("SELECT v FROM secrets WHERE v = ?")) {
        for (int i = 0; i < 7; i++) {
          ps.setString(1, "top");
          try {
            ps.executeQuery();
          } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) denials++;
          }
        }
      }
      step("denied-prepared", "\"denials\":" + denials);
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("UPDATE orders SET status = ? WHERE id = ?")) {
        for (int i = 1; i <= 6; i++) {
          ps.setString(1, "jdbc");
          ps.setInt(2, i);
          ps.executeUpdate();
        }
      }
      try (Statement s = c.createStatement()) {
        s.execute("TRUNCATE orders");
        step("tx-denied", "\"error\":null");
      } catch (SQLException e) {
        step("tx-denied", err(e));
      }
      c.rollback();
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM orders WHERE status = 'jdbc'")) {
        r.next();
        step("rolled-back", "\"count\":" + r.getLong(1));
      }
      c.commit();
      // a batch of parameterised inserts in one transaction
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO orders (id, status) VALUES (?, ?)")) {
        for (int i = 0; i < 10; i++) {
          ps.setInt(1, 5000 + i);
          ps.setString(2, "batch");
          ps.addBatch();
        }
        int[] n = ps.executeBatch();
        step("batch", "\"inserted\":" + n.length);
      }
      c.rollback();
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 'still here'")) {
        r.next();
        step("still-working", "\"value\":" + q(r.getString(1)));
      }
    }
  }
}
