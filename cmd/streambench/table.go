package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
)

// report is everything streambench prints.
type report struct {
	Machine machine `json:"machine"`
	Rows    []row   `json:"results"`
}

// machine describes where the numbers come from.
type machine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	Go    string `json:"go"`
	OS    string `json:"os"`
	// Load is /proc/loadavg's 1, 5 and 15-minute load averages when the
	// run started: other work on the machine skews every number.
	Load string `json:"load_average,omitempty"`
}

func thisMachine() machine {
	m := machine{CPU: cpuModel("/proc/cpuinfo"), Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}

// cpuModel returns the first "model name" of a cpuinfo file, or "unknown".
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// row is one measured value.
type row struct {
	// Name says what was measured.
	Name string `json:"name"`
	// Value is the number, in Unit.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Target is the goal from issue 6, "" when there is none; Met says
	// whether Value reached it (nil without a target).
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
	// Note qualifies the value (how it was measured, or why it failed).
	Note string `json:"note,omitempty"`
}

// atLeast and atMost set a row's target.
func (r row) atLeast(min float64, target string) row {
	met := r.Value >= min
	r.Target, r.Met = target, &met
	return r
}

func (r row) atMost(max float64, target string) row {
	met := r.Value <= max
	r.Target, r.Met = target, &met
	return r
}

// formatValue prints v with thousands separators, and with two
// significant decimals below 100.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	var s string
	switch {
	case v != 0 && math.Abs(v) < 10:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	case math.Abs(v) < 100:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = groupThousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	}
	if unit == "x" {
		return s + "x"
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

// groupThousands inserts commas in an integer's digits: 1234567 → 1,234,567.
func groupThousands(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

// writeTable prints the report as an aligned table.
func (rep *report) writeTable(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "streambench: %s, %d cores, %s, %s", m.CPU, m.Cores, m.Go, m.OS)
	if m.Load != "" {
		fmt.Fprintf(w, ", load average %s at start", m.Load)
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tresult\ttarget\tmet\tnote")
	for _, r := range rep.Rows {
		value := formatValue(r.Value, r.Unit)
		if r.Unit == "" && r.Value == 0 {
			value = "-"
		}
		met := ""
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, value, r.Target, met, r.Note)
	}
	tw.Flush()
}
