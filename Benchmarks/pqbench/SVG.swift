/// What pqbench's figures share: the page with its title, the palette, and a line of points
/// with its legend entry (Plot, FractionPlot, ThroughputPlot draw their own axes).
enum SVG {
    /// Line colours, in legend order.
    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// The opening of a `width` × `height` figure, its title centred at `titleX`.
    static func page(width: Double, height: Double, title: String, titleX: Double) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(titleX)" y="24" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
    }

    /// A polyline through `points` (page coordinates) with a dot at each, and its legend entry.
    static func line(_ points: [(x: Double, y: Double)], colour: String, name: String, legendX: Double, legendY: Double) -> String {
        var s = "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\""
            + points.map { "\($0.x),\($0.y)" }.joined(separator: " ") + "\"/>\n"
        for p in points { s += "<circle cx=\"\(p.x)\" cy=\"\(p.y)\" r=\"3.5\" fill=\"\(colour)\"/>\n" }
        return s + "<text x=\"\(legendX)\" y=\"\(legendY)\" fill=\"\(colour)\">\(escape(name))</text>\n"
    }

    /// `t` with XML's special characters escaped.
    static func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
