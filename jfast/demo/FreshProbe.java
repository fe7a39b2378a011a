/*
 * The probe `jfast doctor` and the JDK tests run: does a restored run see
 * the run that restored it, on this JDK? (docs/architecture.md, "The agent")
 *
 * Before its ready point it uses every random generator the JDK keeps in a
 * static holder and both file systems, so a checkpoint holds them all. After
 * it, it prints one NAME=VALUE line for each thing a restore must make fresh:
 * the environment variable JFAST_PROBE (read only after the ready point: one
 * read before it would make each value a checkpoint of its own) as the
 * program and as /proc/self/environ show it, user.dir,
 * a relative File's and
 * Path's absolute forms, the class path, the JVM's input arguments and any
 * system property naming jfast (what java would show the program), how long
 * ago the JVM started and its uptime (RuntimeMXBean), then one value of each
 * generator, which must differ from run to run. It writes the
 * value of JFAST_PROBE into jfast-probe.out in its working directory, and
 * one line on stderr.
 */

import java.io.File;
import java.io.FileWriter;
import java.io.Writer;
import java.nio.file.Paths;
import java.security.SecureRandom;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

public class FreshProbe {
    public static void main(String[] args) throws Exception {
        Math.random();
        new Random().nextInt();
        new SecureRandom().nextInt();
        ThreadLocalRandom.current().nextInt();
        new SplittableRandom().nextInt();
        UUID.randomUUID();
        Paths.get("x").toAbsolutePath();
        new File("x").getAbsolutePath();
        String before = System.getenv("HOME");      // the same in every run
        dev.jfast.Jfast.ready();
        String probe = String.valueOf(System.getenv("JFAST_PROBE"));
        System.out.println("env=" + probe);
        // What other processes see (ps e, /proc/PID/environ): the same value.
        String shown = "null";
        for (String var : new String(java.nio.file.Files.readAllBytes(
                Paths.get("/proc/self/environ")), "UTF-8").split("\0")) {
            if (var.startsWith("JFAST_PROBE=")) {
                shown = var.substring("JFAST_PROBE=".length());
            }
        }
        System.out.println("procenv=" + shown);
        System.out.println("user.dir=" + System.getProperty("user.dir"));
        System.out.println("io=" + new File("rel.txt").getAbsolutePath());
        System.out.println("nio=" + Paths.get("rel.txt").toAbsolutePath());
        try (Writer w = new FileWriter("jfast-probe.out")) {
            w.write(probe);
        }
        System.out.println("cp=" + System.getProperty("java.class.path"));
        System.out.println("args=" + java.lang.management.ManagementFactory.getRuntimeMXBean()
                .getInputArguments());
        StringBuilder named = new StringBuilder();
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.toLowerCase().contains("jfast")) {
                named.append(name).append(' ');
            }
        }
        System.out.println("props=" + named.toString().trim());
        java.lang.management.RuntimeMXBean vm = java.lang.management.ManagementFactory
                .getRuntimeMXBean();
        long now = System.currentTimeMillis();
        System.out.println("started_ms_ago=" + (now - vm.getStartTime()));
        System.out.println("uptime_ms=" + vm.getUptime());
        System.err.println("the probe's stderr line (" + (before != null) + ")");
        System.out.println("math=" + Math.random());
        System.out.println("random=" + new Random().nextLong());
        System.out.println("secure=" + new SecureRandom().nextLong());
        System.out.println("tlr=" + ThreadLocalRandom.current().nextLong());
        System.out.println("split=" + new SplittableRandom().nextLong());
        System.out.println("uuid=" + UUID.randomUUID());
    }
}
