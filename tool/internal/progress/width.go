package progress

import (
	"strings"
	"unicode/utf8"
)

// Width is the most columns a console line of plugship's may take: a
// terminal of 100 columns shows every line whole.
const Width = 100

// Wrap breaks s into lines of at most width columns at spaces; a word
// longer than width stays whole, on a line of its own.
func Wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// Fit is head and tail on one line, two spaces apart, when that fits in
// Width; otherwise tail goes below head, wrapped and indented by six
// spaces, the indent of the reasons under a failed item. It ends in a
// newline.
func Fit(head, tail string) string {
	if tail == "" {
		return head + "\n"
	}
	if one := head + "  " + tail; utf8.RuneCountInString(one) <= Width {
		return one + "\n"
	}
	return head + "\n" + Indent(tail, "      ")
}

// Indent is s wrapped to Width with every line starting with indent; it
// ends in a newline.
func Indent(s, indent string) string { return Paragraph(s, indent, indent) }

// Paragraph is s wrapped to Width, its first line starting with first and
// the others with rest (a hanging indent); it ends in a newline. Each
// line of s is wrapped on its own, so the lines of an error stay lines.
func Paragraph(s, first, rest string) string {
	var b strings.Builder
	prefix := first
	width := Width - max(utf8.RuneCountInString(first), utf8.RuneCountInString(rest))
	for _, para := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		for _, line := range Wrap(para, width) {
			b.WriteString(prefix + line + "\n")
			prefix = rest
		}
	}
	return b.String()
}

// Wrapped is line as it is, when it fits in Width; otherwise wrapped at
// spaces, the lines after the first starting with rest. It ends in a
// newline. Unlike Paragraph it keeps the spaces of a line that fits, such
// as those that align columns.
func Wrapped(line, rest string) string {
	if utf8.RuneCountInString(line) <= Width {
		return line + "\n"
	}
	return Paragraph(line, "", rest)
}
