package server

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heroiclabs/nakama-common/runtime"
)

// Level is a log level, ordered as zap orders them.
type Level int

const (
	DebugLevel Level = iota - 1
	InfoLevel
	WarnLevel
	ErrorLevel
	FatalLevel
)

func (l Level) String() string {
	switch l {
	case DebugLevel:
		return "debug"
	case InfoLevel:
		return "info"
	case WarnLevel:
		return "warn"
	case ErrorLevel:
		return "error"
	}
	return "fatal"
}

// ParseLevel reads a level name as Nakama's --logger.level does.
func ParseLevel(s string) (Level, error) {
	for l := DebugLevel; l <= FatalLevel; l++ {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return InfoLevel, fmt.Errorf("unknown log level %q", s)
}

// Field is one key and value of a log line, in the order given.
type Field struct {
	Key   string
	Value any
}

// String is zap.String.
func String(key, value string) Field { return Field{key, value} }

// Error is zap.Error: the error's text under "error".
func Error(err error) Field { return Field{"error", err.Error()} }

// Logger writes one JSON object a line, like the zap logger Nakama makes
// with server.NewJSONLogger: level, ts (ISO 8601), caller (short: the
// package folder and file), msg, then the fields. Fatal logs, then exits
// with status 1, as zap's Fatal does.
type Logger struct {
	mu     *sync.Mutex
	w      io.Writer
	min    Level
	fields []Field
}

// NewJSONLogger returns a Logger writing lines at min and above to w.
func NewJSONLogger(w io.Writer, min Level) *Logger {
	return &Logger{mu: &sync.Mutex{}, w: w, min: min}
}

// With returns a logger that adds fields to every line.
func (l *Logger) With(fields ...Field) *Logger {
	c := *l
	c.fields = append(slices.Clip(l.fields), fields...)
	return &c
}

func (l *Logger) Debug(msg string, fields ...Field) { l.write(DebugLevel, 1, msg, fields) }
func (l *Logger) Info(msg string, fields ...Field)  { l.write(InfoLevel, 1, msg, fields) }
func (l *Logger) Warn(msg string, fields ...Field)  { l.write(WarnLevel, 1, msg, fields) }
func (l *Logger) Error(msg string, fields ...Field) { l.write(ErrorLevel, 1, msg, fields) }
func (l *Logger) Fatal(msg string, fields ...Field) {
	l.write(FatalLevel, 1, msg, fields)
	os.Exit(1)
}

// write writes one line; skip is the number of frames between write and
// the caller to report (1 for a method that calls write).
func (l *Logger) write(lvl Level, skip int, msg string, fields []Field) {
	if lvl < l.min {
		return
	}
	var b strings.Builder
	b.WriteString(`{"level":`)
	b.Write(marshal(lvl.String()))
	b.WriteString(`,"ts":`)
	b.Write(marshal(time.Now().Format("2006-01-02T15:04:05.000Z0700")))
	if _, file, line, ok := goruntime.Caller(skip + 1); ok {
		b.WriteString(`,"caller":`)
		b.Write(marshal(fmt.Sprintf("%s:%d", shortPath(file), line)))
	}
	b.WriteString(`,"msg":`)
	b.Write(marshal(msg))
	for _, f := range append(slices.Clip(l.fields), fields...) {
		b.WriteByte(',')
		b.Write(marshal(f.Key))
		b.WriteByte(':')
		b.Write(marshal(f.Value))
	}
	b.WriteString("}\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, b.String())
}

// shortPath is zap's short caller: the last folder and the file name.
func shortPath(file string) string {
	i := strings.LastIndexByte(file, '/')
	if i < 0 {
		return file
	}
	if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
		return file[j+1:]
	}
	return file
}

func marshal(v any) []byte {
	if err, ok := v.(error); ok {
		v = err.Error()
	}
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(fmt.Sprint(v))
	}
	return data
}

// RuntimeGoLogger is the runtime.Logger handed to Go modules, like
// Nakama's: printf-style messages, the field runtime=go, and the module's
// own call site as caller.
type RuntimeGoLogger struct {
	logger *Logger
	fields map[string]any
}

var _ runtime.Logger = (*RuntimeGoLogger)(nil)

// NewRuntimeGoLogger wraps logger for Go modules.
func NewRuntimeGoLogger(logger *Logger) *RuntimeGoLogger {
	return &RuntimeGoLogger{logger: logger.With(String("runtime", "go")), fields: map[string]any{}}
}

func (l *RuntimeGoLogger) log(lvl Level, format string, v []any) {
	l.logger.write(lvl, 2, fmt.Sprintf(format, v...), nil)
}

func (l *RuntimeGoLogger) Debug(format string, v ...any) { l.log(DebugLevel, format, v) }
func (l *RuntimeGoLogger) Info(format string, v ...any)  { l.log(InfoLevel, format, v) }
func (l *RuntimeGoLogger) Warn(format string, v ...any)  { l.log(WarnLevel, format, v) }
func (l *RuntimeGoLogger) Error(format string, v ...any) { l.log(ErrorLevel, format, v) }

func (l *RuntimeGoLogger) WithField(key string, v any) runtime.Logger {
	return l.WithFields(map[string]any{key: v})
}

func (l *RuntimeGoLogger) WithFields(fields map[string]any) runtime.Logger {
	all := maps.Clone(l.fields)
	var add []Field
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == "runtime" {
			continue // Nakama keeps its own
		}
		all[k] = fields[k]
		add = append(add, Field{k, fields[k]})
	}
	return &RuntimeGoLogger{logger: l.logger.With(add...), fields: all}
}

func (l *RuntimeGoLogger) Fields() map[string]any { return maps.Clone(l.fields) }
