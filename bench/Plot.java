import java.awt.*;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.*;
import java.util.*;
import java.util.List;
import javax.imageio.ImageIO;

/** Draws bench/startup.py's medians as grouped horizontal bars: one group
 *  per program, one bar per launcher, each labelled with its time. */
public class Plot {
    public static void main(String[] args) throws Exception {
        Map<String, Map<String, Double>> data = new LinkedHashMap<>();
        List<String> rows = new ArrayList<>();
        for (String line : Files.readAllLines(Paths.get(args[0]))) {
            String[] f = line.split("\t");
            data.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(f[1], Double.parseDouble(f[2]));
            if (!rows.contains(f[1])) rows.add(f[1]);
        }
        double max = 0;
        for (Map<String, Double> m : data.values()) for (double v : m.values()) max = Math.max(max, v);
        Color[] colors = {new Color(0x7f7f7f), new Color(0xe8a33d), new Color(0x5b8fd6), new Color(0x2e9e5b)};
        int bar = 18, gap = 14, left = 150, right = 90, width = 900, top = 50;
        int height = top + data.size() * (rows.size() * bar + gap) + 40;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        g.drawString("Time to ready (median ms), shorter is better", left, 22);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int lx = left;
        for (int r = 0; r < rows.size(); r++) {
            g.setColor(colors[r % colors.length]);
            g.fillRect(lx, 32, 10, 10);
            g.setColor(Color.BLACK);
            g.drawString(rows.get(r), lx + 14, 42);
            lx += g.getFontMetrics().stringWidth(rows.get(r)) + 34;
        }
        int y = top;
        double scale = (width - left - right) / max;
        for (Map.Entry<String, Map<String, Double>> e : data.entrySet()) {
            g.setColor(Color.BLACK);
            g.drawString(e.getKey(), 8, y + rows.size() * bar / 2 + 5);
            for (int r = 0; r < rows.size(); r++) {
                Double v = e.getValue().get(rows.get(r));
                if (v == null) continue;
                int w = Math.max(1, (int) Math.round(v * scale));
                g.setColor(colors[r % colors.length]);
                g.fillRect(left, y + r * bar, w, bar - 3);
                g.setColor(Color.BLACK);
                g.drawString(String.format("%.0f ms", v), left + w + 5, y + r * bar + bar - 6);
            }
            y += rows.size() * bar + gap;
        }
        g.dispose();
        ImageIO.write(img, "png", new File(args[1]));
    }
}
