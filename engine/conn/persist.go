package conn

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/engine/shellwords"
)

// DefaultSSHArgs is Ansible's default ssh_args: with them a host's
// connection outlives the run by 60 s, and the next run reuses it.
const DefaultSSHArgs = "-C -o ControlMaster=auto -o ControlPersist=60s"

// Forever is the persist time of ControlPersist=yes.
const Forever = time.Duration(-1)

// ControlPersist reads how long connections persist from ssh command-line
// options, in the order ssh would see them (Ansible's ssh_args, then
// ssh_common_args, then ssh_extra_args); as in ssh, the first value of
// each option wins. ok is false when connections are not to be kept:
// ControlMaster unset or no, ControlPersist unset or no. The other ssh
// options have no meaning here and are ignored.
func ControlPersist(argLines ...string) (persist time.Duration, ok bool, err error) {
	opts := map[string]string{}
	for _, line := range argLines {
		words, err := shellwords.Split(line)
		if err != nil {
			return 0, false, fmt.Errorf("ssh arguments %q: %v", line, err)
		}
		for i := 0; i < len(words); i++ {
			var opt string
			switch w := words[i]; {
			case w == "-o" && i+1 < len(words):
				i++
				opt = words[i]
			case strings.HasPrefix(w, "-o"):
				opt = w[2:]
			default:
				continue
			}
			name, value, found := strings.Cut(opt, "=")
			if !found {
				name, value, _ = strings.Cut(opt, " ")
			}
			name = strings.ToLower(strings.TrimSpace(name))
			if _, seen := opts[name]; !seen {
				opts[name] = strings.TrimSpace(value)
			}
		}
	}
	switch strings.ToLower(opts["controlmaster"]) {
	case "yes", "auto", "ask", "autoask":
	default:
		return 0, false, nil
	}
	value, set := opts["controlpersist"]
	switch v := strings.ToLower(value); {
	case !set || v == "no":
		return 0, false, nil
	case v == "yes" || v == "0":
		return Forever, true, nil
	}
	d, err := sshTime(value)
	if err != nil {
		return 0, false, fmt.Errorf("ControlPersist=%s: %v", value, err)
	}
	if d == 0 {
		return Forever, true, nil // "0s" is 0, as in ssh
	}
	return d, true, nil
}

// sshTime parses ssh_config's time format: seconds, or a sequence of
// numbers with units s, m, h, d, w ("90", "1h30m").
func sshTime(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	var total time.Duration
	for rest := strings.ToLower(s); rest != ""; {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return 0, fmt.Errorf("not a time (give seconds, or e.g. 60s, 10m, 1h)")
		}
		unit := time.Second
		if i < len(rest) {
			u, ok := units[rest[i]]
			if !ok {
				return 0, fmt.Errorf("unknown time unit %q (s, m, h, d or w)", rest[i])
			}
			unit = u
			i++
		}
		total += time.Duration(n) * unit
		rest = rest[i:]
	}
	return total, nil
}
