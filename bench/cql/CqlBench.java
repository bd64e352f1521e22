// The Java contender of bench/cql/run: N prepared inserts of the reference row with the official
// Apache Cassandra Java driver 4.x, executeAsync with a semaphore bounding the requests in flight
// (the driver's documented pattern for bulk writes).
//
// Usage: java -cp 'lib/*:classes' CqlBench HOST PORT KEYSPACE TABLE ROWS POOL_TSV IN_FLIGHT [V4|V5]
// Same protocol as cql_bench --handshake: READY (connected, prepared) / a line on stdin / inserts /
// DONE + a result line / waits for stdin to close. Row i is POOL_TSV line i % lines with a fresh
// random 32-hex id, like the other contenders. Protocol v4 (V5: the checksummed framing of
// Cassandra 4.0+, many messages per frame, to measure what it is worth), LOCAL_ONE.
import com.datastax.oss.driver.api.core.ConsistencyLevel;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.session.Session;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

public final class CqlBench {
  private static final String[] COLUMNS = {
    "id", "first_name", "last_name", "gender", "address", "post_code", "email",
    "username", "dob", "registered_date", "phone", "picture"
  };
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private static String randomId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] c = new char[32];
    long a = r.nextLong(), b = r.nextLong();
    for (int i = 0; i < 16; i++) {
      c[i] = HEX[(int) (a >>> (60 - 4 * i)) & 15];
      c[16 + i] = HEX[(int) (b >>> (60 - 4 * i)) & 15];
    }
    return new String(c);
  }

  public static void main(String[] args) throws Exception {
    String host = args[0], ks = args[2], table = args[3];
    int port = Integer.parseInt(args[1]);
    long rows = Long.parseLong(args[4]);
    int inFlight = Integer.parseInt(args[6]);
    String protocol = args.length > 7 ? args[7] : "V4";
    List<String> lines = Files.readAllLines(Paths.get(args[5]), StandardCharsets.UTF_8);
    Object[][] pool = new Object[lines.size()][];
    for (int i = 0; i < pool.length; i++) pool[i] = lines.get(i).split("\t", -1);

    DriverConfigLoader config =
        DriverConfigLoader.programmaticBuilder()
            .withString(DefaultDriverOption.PROTOCOL_VERSION, protocol)
            .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(30))
            .withDuration(DefaultDriverOption.CONNECTION_CONNECT_TIMEOUT, Duration.ofSeconds(30))
            .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofSeconds(30))
            .withDuration(DefaultDriverOption.CONTROL_CONNECTION_TIMEOUT, Duration.ofSeconds(30))
            .withInt(DefaultDriverOption.CONNECTION_MAX_REQUESTS, Math.max(1024, inFlight))
            .build();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    try (CqlSession session =
        CqlSession.builder()
            .addContactPoint(new InetSocketAddress(host, port))
            .withLocalDatacenter("datacenter1")
            .withConfigLoader(config)
            .build()) {
      StringBuilder q = new StringBuilder("INSERT INTO " + ks + "." + table + " (");
      q.append(String.join(", ", COLUMNS)).append(") VALUES (");
      for (int c = 0; c < COLUMNS.length; c++) q.append(c == 0 ? "?" : ", ?");
      PreparedStatement ps = session.prepare(q.append(")").toString());
      System.out.println("READY");
      System.out.flush();
      in.readLine();

      Semaphore window = new Semaphore(inFlight);
      AtomicLong ok = new AtomicLong(), failed = new AtomicLong();
      AtomicReference<Throwable> last = new AtomicReference<>();
      long t0 = System.nanoTime();
      Object[] values = new Object[COLUMNS.length];
      for (long i = 0; i < rows; i++) {
        Object[] p = pool[(int) (i % pool.length)];
        values[0] = randomId();
        System.arraycopy(p, 0, values, 1, p.length);
        BoundStatement bs = ps.bind(values).setConsistencyLevel(ConsistencyLevel.LOCAL_ONE);
        window.acquire();
        session
            .executeAsync(bs)
            .whenComplete(
                (rs, err) -> {
                  if (err == null) ok.incrementAndGet();
                  else {
                    failed.incrementAndGet();
                    last.set(err);
                  }
                  window.release();
                });
      }
      window.acquire(inFlight);
      double secs = (System.nanoTime() - t0) / 1e9;
      System.out.println("DONE");
      System.out.printf(
          "rows=%d seconds=%.3f rows_per_s=%.0f errors=%d driver=java-driver-core-%s java=%s"
              + " protocol=%s%n",
          ok.get(), secs, ok.get() / secs, failed.get(),
          Session.OSS_DRIVER_COORDINATES.getVersion(), System.getProperty("java.version"),
          session.getContext().getProtocolVersion());
      System.out.flush();
      if (failed.get() > 0) System.err.println("CqlBench: " + failed.get() + " failed; last: " + last.get());
      in.readLine();
      if (failed.get() > 0) System.exit(1);
    }
  }
}
