// Types for the vendored uPlot ES module (type checks only; not served).
import uPlot from "uplot";

export default uPlot;
