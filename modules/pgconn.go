package modules

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/module"
)

// pgConnArgs are the connection arguments every PostgreSQL module takes.
func pgConnArgs() []module.Arg {
	return []module.Arg{
		{Name: "db", Type: module.String, Default: "postgres", Aliases: []string{"login_db", "database"}, Doc: "database to connect to"},
		{Name: "login_host", Type: module.String, Default: "127.0.0.1", Doc: "server to connect to, resolved and dialled from the target host's side through its connection (as Ansible's modules run on the host)"},
		{Name: "login_port", Type: module.Int, Default: 5432, Aliases: []string{"port"}, Doc: "server port"},
		{Name: "login_user", Type: module.String, Default: "postgres", Doc: "role to log in as"},
		{Name: "login_password", Type: module.String, Secret: true, Doc: "password (never printed)"},
		{Name: "ssl_mode", Type: module.String, Default: "prefer", Choices: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}, Doc: "libpq sslmode"},
	}
}

// pgConnect opens a pgx connection as the arguments say. The server is
// dialled from the host's side, through the host's connection (over SSH, a
// tunnel: no port opened to the controller), and login_host is resolved
// there, with the host's own /etc/hosts, as a module running on the host
// would.
func pgConnect(ctx context.Context, h module.Host, args module.Args) (*pgx.Conn, error) {
	port, _ := args["login_port"].(int)
	if port == 0 {
		port = 5432
	}
	host := pgTargetHost(args)
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=%s",
		quoteConnValue(host), port, quoteConnValue(argString(args, "db")), quoteConnValue(argString(args, "login_user")), argString(args, "ssl_mode")))
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", err)
	}
	cfg.Password = argString(args, "login_password")
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return h.Dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	}
	cfg.LookupFunc = func(ctx context.Context, host string) ([]string, error) { return []string{host}, nil }
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		// pgx's message names host, user and database, never the password.
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return conn, nil
}

// pgTargetHost is the server the host connects to.
func pgTargetHost(args module.Args) string {
	if h := argString(args, "login_host"); h != "" {
		return h
	}
	return "127.0.0.1"
}

// quoteConnValue quotes a value for a libpq key=value string.
func quoteConnValue(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
