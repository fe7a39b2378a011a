/*
 * The program `jfast demo` runs to show a cold start next to a restore.
 *
 * What it does, in order:
 *  1. Warm-up, the kind of start-up work real JVM programs do. It loads and
 *     exercises a broad set of JDK subsystems, so most of the time goes to
 *     class loading, bytecode verification, interpretation and JIT warm-up
 *     rather than to a tight loop:
 *       - javax.xml: build a DOM catalogue, serialize it with a Transformer,
 *         parse it back (DOM and SAX), query it with XPath, and compile and
 *         run an XSLT stylesheet (XSLTC generates bytecode at run time);
 *       - java.util.regex over generated log lines;
 *       - java.time: format and parse one fixed instant in many time zones
 *         and locales (loads the tz database);
 *       - BigInteger/BigDecimal: factorials, modular powers, primes, pi;
 *       - collections and streams: sort, group and summarize generated
 *         records (lambdas, so invokedynamic bootstrapping as well);
 *       - java.text: NumberFormat, MessageFormat and Collator across locales;
 *       - java.util.zip: Deflater/Inflater, GZIP streams, CRC32, Adler32;
 *       - java.security/javax.crypto: SHA-256, MD5, HMAC-SHA256, AES/GCM with
 *         a fixed key.
 *     Each step reduces its results to a short string; all of them go into
 *     one SHA-256 digest.
 *  2. dev.jfast.Jfast.ready(): under jfast the first run is checkpointed
 *     here and later runs are restored from here, skipping step 1.
 *  3. Prints exactly one line "ready" (flushed), then one line
 *     "hello <args...>: <first 16 hex digits of the digest>", and exits 0.
 *
 * Deterministic: no clock, no unseeded randomness, explicit locales, zones
 * and charsets, so the same arguments always give the same output. It reads
 * no stdin, opens no sockets and writes no files.
 *
 * Build: javac --release 11 -d OUT jfast/demo/Demo.java java-agent/src/dev/jfast/Jfast.java
 * (OUT then holds Demo*.class and dev/jfast/Jfast.class). Run: java -cp OUT Demo [args...]
 */

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.text.Collator;
import java.text.MessageFormat;
import java.text.NumberFormat;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.Period;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.FormatStyle;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.zip.Adler32;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.Inflater;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.SAXParserFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import javax.xml.transform.stream.StreamSource;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.Attributes;
import org.xml.sax.InputSource;
import org.xml.sax.helpers.DefaultHandler;

public final class Demo {

    /** Scale of the generated data; tuned for about 1 s of start-up on 2 cores. */
    private static final int ITEMS = 1000;
    private static final int RECORDS = 40000;
    private static final int LOG_LINES = 4000;

    private static final String[] WORDS = {
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
        "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
        "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "zulu",
        "\u00e9clair", "\u00c5ngstr\u00f6m", "stra\u00dfe", "caf\u00e9", "na\u00efve", "\u00fcber",
    };

    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        MessageDigest total = MessageDigest.getInstance("SHA-256");
        byte[] xml = xmlWork(total);
        feed(total, regexWork());
        feed(total, timeWork());
        feed(total, mathWork());
        feed(total, collectionsWork());
        feed(total, textWork());
        feed(total, zipWork(xml));
        feed(total, cryptoWork(xml));
        String checksum = hex(total.digest()).substring(0, 16);

        dev.jfast.Jfast.ready();

        System.out.println("ready");
        System.out.flush();
        StringBuilder line = new StringBuilder("hello");
        for (String a : args) {
            line.append(' ').append(a);
        }
        line.append(": ").append(checksum);
        System.out.println(line);
        System.out.flush();
    }

    private static void feed(MessageDigest md, String s) {
        md.update(s.getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        }
        return sb.toString();
    }

    // ---- javax.xml -------------------------------------------------------

    private static final String XSLT =
        "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
        + "<xsl:output method='xml' indent='no'/>"
        + "<xsl:template match='/catalog'>"
        + "<report><xsl:for-each select='item[@price &gt; 50]'>"
        + "<xsl:sort select='@price' data-type='number' order='descending'/>"
        + "<row name='{translate(name, \"abcdefghijklmnopqrstuvwxyz\", \"ABCDEFGHIJKLMNOPQRSTUVWXYZ\")}'"
        + " total='{format-number(@price * @qty, \"0.00\")}'/>"
        + "</xsl:for-each>"
        + "<count><xsl:value-of select='count(item)'/></count>"
        + "<sum><xsl:value-of select='format-number(sum(item/@qty), \"#,##0\")'/></sum>"
        + "</report></xsl:template></xsl:stylesheet>";

    private static byte[] xmlWork(MessageDigest total) throws Exception {
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setNamespaceAware(true);
        DocumentBuilder db = dbf.newDocumentBuilder();
        Document doc = db.newDocument();
        Element root = doc.createElement("catalog");
        doc.appendChild(root);
        Random rnd = new Random(42);
        for (int i = 0; i < ITEMS; i++) {
            Element item = doc.createElement("item");
            item.setAttribute("id", "i" + i);
            item.setAttribute("price", Integer.toString(1 + rnd.nextInt(100)));
            item.setAttribute("qty", Integer.toString(rnd.nextInt(20)));
            Element name = doc.createElement("name");
            name.setTextContent(WORDS[rnd.nextInt(WORDS.length)] + "-" + WORDS[i % WORDS.length]);
            item.appendChild(name);
            Element note = doc.createElement("note");
            note.appendChild(doc.createCDATASection("note <" + i + "> & more"));
            item.appendChild(note);
            root.appendChild(item);
        }

        TransformerFactory tf = TransformerFactory.newInstance();
        Transformer identity = tf.newTransformer();
        identity.setOutputProperty(OutputKeys.INDENT, "yes");
        identity.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        identity.transform(new DOMSource(doc), new StreamResult(bytes));
        byte[] xml = bytes.toByteArray();

        Document back = db.parse(new ByteArrayInputStream(xml));
        XPath xp = XPathFactory.newInstance().newXPath();
        double sum = (Double) xp.evaluate("sum(/catalog/item/@qty)", back, XPathConstants.NUMBER);
        NodeList cheap = (NodeList) xp.evaluate("/catalog/item[@price < 10]/name", back, XPathConstants.NODESET);
        String first = cheap.getLength() > 0 ? cheap.item(0).getTextContent() : "";

        final int[] counts = new int[2];
        SAXParserFactory spf = SAXParserFactory.newInstance();
        spf.newSAXParser().parse(new ByteArrayInputStream(xml), new DefaultHandler() {
            @Override
            public void startElement(String uri, String local, String qName, Attributes atts) {
                counts[0]++;
                counts[1] += atts.getLength();
            }
        });

        Transformer xslt = tf.newTransformer(new StreamSource(new StringReader(XSLT)));
        StringWriter report = new StringWriter();
        xslt.transform(new DOMSource(back), new StreamResult(report));
        feed(total, report.toString());

        return xml;
    }

    // ---- java.util.regex -------------------------------------------------

    private static String regexWork() {
        Random rnd = new Random(7);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < LOG_LINES; i++) {
            text.append("2024-").append(pad2(1 + rnd.nextInt(12))).append('-').append(pad2(1 + rnd.nextInt(28)))
                .append(' ').append(rnd.nextBoolean() ? "INFO " : "WARN ")
                .append("10.").append(rnd.nextInt(256)).append('.').append(rnd.nextInt(256)).append('.')
                .append(rnd.nextInt(256)).append(" user=").append(WORDS[rnd.nextInt(WORDS.length)])
                .append(" took ").append(rnd.nextInt(5000)).append("ms path=/api/v")
                .append(1 + rnd.nextInt(3)).append('/').append(WORDS[rnd.nextInt(WORDS.length)]).append('\n');
        }
        String s = text.toString();
        Pattern line = Pattern.compile(
            "^(\\d{4})-(\\d{2})-(\\d{2}) (INFO|WARN) +((?:\\d{1,3}\\.){3}\\d{1,3}) user=(\\p{L}+) took (\\d+)ms path=(\\S+)$",
            Pattern.MULTILINE);
        Matcher m = line.matcher(s);
        TreeMap<String, Long> byUser = new TreeMap<>();
        long slowWarn = 0;
        int n = 0;
        while (m.find()) {
            n++;
            long took = Long.parseLong(m.group(7));
            byUser.merge(m.group(6), took, Long::sum);
            if (m.group(4).equals("WARN") && took > 4000) {
                slowWarn++;
            }
        }
        String masked = Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)").matcher(s).replaceAll("$1.x.x.$4");
        String[] parts = s.split("[\\s=/]+");
        boolean unicode = Pattern.compile("(?iu)\u00c9CLAIR").matcher(s).find();
        return "regex " + n + " " + slowWarn + " " + byUser + " " + masked.hashCode() + " " + parts.length + " " + unicode;
    }

    private static String pad2(int v) {
        return v < 10 ? "0" + v : Integer.toString(v);
    }

    // ---- java.time -------------------------------------------------------

    private static String timeWork() {
        Instant fixed = Instant.ofEpochSecond(1700000000L);
        String[] zones = {
            "UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney",
            "Asia/Kolkata", "America/Sao_Paulo", "Africa/Cairo", "Pacific/Auckland", "Europe/Moscow",
            "America/Los_Angeles", "Asia/Kathmandu",
        };
        Locale[] locales = {Locale.US, Locale.FRANCE, Locale.GERMANY, Locale.JAPAN, new Locale("pt", "BR"), Locale.ROOT};
        StringBuilder sb = new StringBuilder();
        DateTimeFormatter iso = DateTimeFormatter.ISO_OFFSET_DATE_TIME;
        for (String z : zones) {
            ZonedDateTime t = fixed.atZone(ZoneId.of(z));
            for (Locale loc : locales) {
                sb.append(DateTimeFormatter.ofLocalizedDateTime(FormatStyle.MEDIUM).withLocale(loc).format(t)).append('|');
                sb.append(DateTimeFormatter.ofPattern("EEEE d MMMM uuuu HH:mm zzz", loc).format(t)).append('|');
            }
            String s = iso.format(t);
            ZonedDateTime parsed = ZonedDateTime.parse(s, iso);
            sb.append(parsed.toInstant().equals(fixed)).append(' ');
            sb.append(t.plus(Period.ofMonths(7)).plus(Duration.ofHours(1000)).truncatedTo(ChronoUnit.HOURS)).append('\n');
        }
        LocalDate d = LocalDate.of(2000, 2, 29);
        long days = 0;
        for (int i = 0; i < 400; i++) {
            LocalDate e = d.plusYears(i).plusMonths(i % 12);
            days += ChronoUnit.DAYS.between(d, e) + e.getDayOfWeek().getValue();
        }
        return sb.append(days).toString();
    }

    // ---- java.math -------------------------------------------------------

    private static String mathWork() {
        BigInteger f = BigInteger.ONE;
        for (int i = 2; i <= 800; i++) {
            f = f.multiply(BigInteger.valueOf(i));
        }
        BigInteger mod = BigInteger.ONE.shiftLeft(521).subtract(BigInteger.ONE);
        BigInteger pow = BigInteger.valueOf(3).modPow(f, mod);
        BigInteger prime = BigInteger.TEN.pow(60).nextProbablePrime();
        BigInteger gcd = f.gcd(mod.add(BigInteger.valueOf(12345)));
        MathContext mc = new MathContext(300, RoundingMode.HALF_EVEN);
        BigDecimal pi = BigDecimal.valueOf(16).multiply(arctanInverse(5, mc), mc)
            .subtract(BigDecimal.valueOf(4).multiply(arctanInverse(239, mc), mc), mc);
        BigDecimal root2 = BigDecimal.valueOf(2).sqrt(mc);
        return "math " + f.bitLength() + " " + pow.mod(BigInteger.valueOf(1000003)) + " " + prime + " " + gcd
            + " " + pi.round(new MathContext(50)) + " " + root2.round(new MathContext(40))
            + " " + f.toString(36).length();
    }

    /** arctan(1/x) by its Taylor series. */
    private static BigDecimal arctanInverse(int x, MathContext mc) {
        BigDecimal xs = BigDecimal.valueOf((long) x * x);
        BigDecimal term = BigDecimal.ONE.divide(BigDecimal.valueOf(x), mc);
        BigDecimal sum = term;
        BigDecimal eps = BigDecimal.ONE.movePointLeft(mc.getPrecision() + 2);
        for (int k = 1; term.abs().compareTo(eps) > 0; k++) {
            term = term.divide(xs, mc);
            BigDecimal t = term.divide(BigDecimal.valueOf(2L * k + 1), mc);
            sum = (k % 2 == 1) ? sum.subtract(t, mc) : sum.add(t, mc);
        }
        return sum;
    }

    // ---- collections and streams -----------------------------------------

    private static final class Rec {
        final String name;
        final String city;
        final int age;
        final double score;

        Rec(String name, String city, int age, double score) {
            this.name = name;
            this.city = city;
            this.age = age;
            this.score = score;
        }
    }

    private static String collectionsWork() {
        Random rnd = new Random(2024);
        List<Rec> recs = new ArrayList<>(RECORDS);
        for (int i = 0; i < RECORDS; i++) {
            recs.add(new Rec(WORDS[rnd.nextInt(WORDS.length)] + i, WORDS[rnd.nextInt(8)],
                18 + rnd.nextInt(60), Math.round(rnd.nextDouble() * 10000) / 100.0));
        }
        List<Rec> sorted = new ArrayList<>(recs);
        sorted.sort(Comparator.comparing((Rec r) -> r.city).thenComparingInt(r -> -r.age)
            .thenComparing(r -> r.name));
        Map<String, Double> avgByCity = recs.stream()
            .collect(Collectors.groupingBy(r -> r.city, TreeMap::new, Collectors.averagingDouble(r -> r.score)));
        Map<Boolean, Long> adults = recs.stream()
            .collect(Collectors.partitioningBy(r -> r.age >= 40, Collectors.counting()));
        String topNames = recs.stream().sorted(Comparator.comparingDouble((Rec r) -> r.score).reversed()
            .thenComparing(r -> r.name)).limit(5).map(r -> r.name).collect(Collectors.joining(","));
        TreeSet<Integer> ages = new TreeSet<>();
        for (Rec r : recs) {
            ages.add(r.age);
        }
        int[] arr = IntStream.range(0, RECORDS).map(i -> (i * 7919) % 10007).toArray();
        Arrays.sort(arr);
        long parallelSum = IntStream.range(0, RECORDS).parallel().mapToLong(i -> (long) i * i % 1000).sum();
        return "coll " + sorted.get(0).name + " " + sorted.get(RECORDS - 1).name + " "
            + avgByCity.toString().hashCode() + " " + adults + " " + topNames + " " + ages.size() + " "
            + arr[arr.length / 2] + " " + parallelSum;
    }

    // ---- java.text -------------------------------------------------------

    private static String textWork() {
        Locale[] locales = {Locale.US, Locale.GERMANY, Locale.FRANCE, new Locale("hi", "IN"), Locale.JAPAN};
        StringBuilder sb = new StringBuilder();
        for (Locale loc : locales) {
            sb.append(NumberFormat.getCurrencyInstance(loc).format(1234567.891)).append('|');
            sb.append(NumberFormat.getPercentInstance(loc).format(0.4567)).append('|');
            sb.append(new MessageFormat("{0} has {1,number,integer} items worth {2,number,#,##0.00}", loc)
                .format(new Object[] {"store", 12345, 98765.4321})).append('|');
            sb.append(String.format(loc, "%,.3f %08X %s", 1234567.891, 48879, "x")).append('\n');
        }
        List<String> words = new ArrayList<>(Arrays.asList(WORDS));
        Collator fr = Collator.getInstance(Locale.FRANCE);
        words.sort(fr);
        sb.append(words);
        Collator de = Collator.getInstance(Locale.GERMANY);
        de.setStrength(Collator.PRIMARY);
        sb.append(de.compare("Stra\u00dfe", "strasse"));
        return sb.toString();
    }

    // ---- java.util.zip ---------------------------------------------------

    private static String zipWork(byte[] xml) throws IOException, java.util.zip.DataFormatException {
        Deflater def = new Deflater(Deflater.BEST_COMPRESSION);
        def.setInput(xml);
        def.finish();
        byte[] buf = new byte[xml.length + 1024];
        int clen = def.deflate(buf);
        def.end();
        Inflater inf = new Inflater();
        inf.setInput(buf, 0, clen);
        byte[] out = new byte[xml.length];
        int olen = inf.inflate(out);
        inf.end();

        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        GZIPOutputStream gzo = new GZIPOutputStream(gz);
        for (int i = 0; i < 4; i++) {
            gzo.write(xml);
        }
        gzo.close();
        GZIPInputStream gzi = new GZIPInputStream(new ByteArrayInputStream(gz.toByteArray()));
        byte[] chunk = new byte[8192];
        long total = 0;
        for (int n; (n = gzi.read(chunk)) > 0;) {
            total += n;
        }
        gzi.close();

        CRC32 crc = new CRC32();
        crc.update(out, 0, olen);
        Adler32 adler = new Adler32();
        adler.update(xml);
        return "zip " + clen + " " + olen + " " + Arrays.equals(out, xml) + " " + total + " "
            + Long.toHexString(crc.getValue()) + " " + Long.toHexString(adler.getValue());
    }

    // ---- java.security / javax.crypto -------------------------------------

    private static String cryptoWork(byte[] xml) throws Exception {
        String sha = hex(MessageDigest.getInstance("SHA-256").digest(xml));
        String md5 = hex(MessageDigest.getInstance("MD5").digest(xml));
        byte[] key = new byte[16];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (i * 17 + 3);
        }
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        String hmac = hex(mac.doFinal(xml));
        Cipher aes = Cipher.getInstance("AES/GCM/NoPadding");
        byte[] iv = new byte[12];
        aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
        byte[] enc = aes.doFinal(xml);
        aes.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
        byte[] dec = aes.doFinal(enc);
        return "crypto " + sha + " " + md5 + " " + hmac + " " + enc.length + " " + Arrays.equals(dec, xml)
            + " " + hex(Arrays.copyOfRange(enc, enc.length - 16, enc.length));
    }
}
