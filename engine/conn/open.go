package conn

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/engine/module"
)

// Open returns the connection a host's variables ask for. Only the local
// connection exists so far; any other kind is refused as unreachable, so a
// production inventory can never be run on this machine by mistake.
func Open(_ context.Context, name string, vars map[string]any) (module.MutableHost, error) {
	kind, _ := vars["ansible_connection"].(string)
	switch kind {
	case "local":
		return &Local{Host: name}, nil
	case "", "ssh", "smart", "paramiko":
		return nil, fmt.Errorf("%w: %s: the ssh connection is not available yet (set ansible_connection=local to run on this machine)", ErrUnreachable, name)
	}
	return nil, fmt.Errorf("%w: %s: unknown connection type %q", ErrUnreachable, name, kind)
}
