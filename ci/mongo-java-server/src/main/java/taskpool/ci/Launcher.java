package taskpool.ci;

import java.util.List;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * Starts mongo-java-server (memory backend) on 127.0.0.1:PORT until killed.
 *
 * <p>The stock server reports MongoDB 4.0 (wire version 8), which the Rust
 * driver 3.9 and PyMongo 4.18 refuse ("requires at least 9"); this one
 * reports MongoDB 6.0 (wire version 17), which both accept. Only the
 * reported version changes: the server's behaviour is the same.
 */
public final class Launcher {
    /** The version this server reports in hello/buildInfo. */
    static final class Reported implements MongoVersion {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 17;
        }
    }

    private Launcher() {}

    /**
     * Bind to 127.0.0.1:{@code args[0]} and serve until the process is killed.
     *
     * @param args the port
     */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: Launcher PORT");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        MongoServer server = new MongoServer(new MemoryBackend().version(new Reported()));
        server.bind("127.0.0.1", port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        System.err.println("mongo-java-server listening on 127.0.0.1:" + port);
    }
}
