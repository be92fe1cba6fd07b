package expr

import (
	"fmt"
	"strings"
	"time"
)

// nowFunc is Ansible's now(utc=False, fmt=None): the controller's time,
// as Python's str(datetime) ("2026-11-26 10:44:35.123456") or formatted
// with a strftime format.
func nowFunc(_ *evalCtx, a []any, kw map[string]any) (any, error) {
	t := time.Now()
	utc := len(a) > 0 && truthOf(a[0])
	if v, ok := kw["utc"]; ok {
		utc = truthOf(v)
	}
	if utc {
		t = t.UTC()
	}
	format, ok := kw["fmt"]
	if !ok && len(a) > 1 {
		format, ok = a[1], true
	}
	if !ok || format == nil {
		return t.Format("2006-01-02 15:04:05.000000"), nil
	}
	return strftime(t, pyStr(format))
}

// strftime formats t with the directives Python's strftime has that a
// playbook uses for stamps and names.
func strftime(t time.Time, format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("now(): strftime directive %%%c is not supported", format[i])
		}
	}
	return b.String(), nil
}
