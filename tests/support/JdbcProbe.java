import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * The SQL door through pgjdbc, the driver Metabase (and Tableau's, DBeaver's PostgreSQL connectors)
 * use: the DatabaseMetaData calls a BI tool's sync makes, then a Metabase-style question with a
 * parameter and a DATE_TRUNC query. Prints one line per check, "key<TAB>value", for
 * tests/unit/sql-door.test.ts. Run: java -cp postgresql.jar JdbcProbe.java (env TOKEN, PORT).
 */
public class JdbcProbe {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "analyst");
    props.setProperty("password", System.getenv("TOKEN"));
    props.setProperty("sslmode", "disable");
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + System.getenv("PORT") + "/crm", props)) {
      DatabaseMetaData md = c.getMetaData();
      System.out.println("product\t" + md.getDatabaseProductName() + " " + md.getDatabaseProductVersion());
      List<String> schemas = new ArrayList<>();
      try (ResultSet r = md.getSchemas()) {
        while (r.next()) schemas.add(r.getString("TABLE_SCHEM"));
      }
      System.out.println("schemas\t" + String.join(",", schemas));
      List<String> tables = new ArrayList<>();
      try (ResultSet r = md.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"})) {
        while (r.next()) tables.add(r.getString("TABLE_NAME"));
      }
      System.out.println("tables\t" + String.join(",", tables));
      List<String> columns = new ArrayList<>();
      try (ResultSet r = md.getColumns(null, "public", "sales_overview", "%")) {
        while (r.next()) columns.add(r.getString("COLUMN_NAME") + ":" + r.getString("TYPE_NAME"));
      }
      System.out.println("columns\t" + String.join(",", columns));
      int keys = 0;
      try (ResultSet r = md.getPrimaryKeys(null, "public", "sales_overview")) {
        while (r.next()) keys++;
      }
      System.out.println("primaryKeys\t" + keys);
      String question = "SELECT \"public\".\"sales_overview\".\"order_status\" AS \"order_status\", count(*) AS \"count\" "
          + "FROM \"public\".\"sales_overview\" WHERE \"public\".\"sales_overview\".\"order_status\" <> ? "
          + "GROUP BY \"public\".\"sales_overview\".\"order_status\" ORDER BY \"public\".\"sales_overview\".\"order_status\" ASC LIMIT 2000";
      List<String> rows = new ArrayList<>();
      try (PreparedStatement st = c.prepareStatement(question)) {
        st.setString(1, "cancelled");
        try (ResultSet r = st.executeQuery()) {
          while (r.next()) rows.add(r.getString(1) + "=" + r.getLong(2));
        }
      }
      System.out.println("question\t" + String.join(",", rows));
      List<String> monthly = new ArrayList<>();
      try (Statement st = c.createStatement();
          ResultSet r = st.executeQuery("SELECT DATE_TRUNC('month', ordered_at) AS m, MEASURE(revenue) AS r FROM sales_overview GROUP BY 1 ORDER BY 1")) {
        while (r.next()) monthly.add(r.getTimestamp(1) + "=" + r.getBigDecimal(2));
      }
      System.out.println("monthly\t" + String.join(",", monthly));
    }
  }
}
