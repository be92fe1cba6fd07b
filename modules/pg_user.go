package modules

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/pbkdf2"

	"github.com/cutover/cutover/engine/module"
)

// PgUser is the pg_user module: it creates, alters or drops a PostgreSQL
// role, with its password stored as a SCRAM-SHA-256 verifier.
func PgUser() module.Info {
	return module.Info{
		Name: "pg_user",
		Doc: "Creates, alters or drops a PostgreSQL role. The password is sent as a SCRAM-SHA-256 verifier computed here, so the " +
			"clear text never reaches the server or its log; it is compared with the stored verifier (pg_authid, readable by a " +
			"superuser) so a second run is ok. When pg_authid cannot be read the password is set every run.",
		Args: append(pgConnArgs(),
			module.Arg{Name: "name", Type: module.String, Required: true, Aliases: []string{"user", "role"}, Doc: "role name"},
			module.Arg{Name: "password", Type: module.String, Secret: true, Doc: "password, stored as SCRAM-SHA-256 (never printed)"},
			module.Arg{Name: "login", Type: module.Bool, Default: true, Doc: "the role can log in"},
			module.Arg{Name: "role_attr_flags", Type: module.String, Doc: "comma-separated attributes, e.g. CREATEDB,NOSUPERUSER (SUPERUSER, CREATEROLE, CREATEDB, INHERIT, REPLICATION, BYPASSRLS)"},
			module.Arg{Name: "state", Type: module.String, Default: "present", Choices: []string{"present", "absent"}, Doc: "present or absent"},
		),
		New: func() module.Module { return pgUserModule{} },
	}
}

type pgUserModule struct{}

// pgRoleAttrs are the role attributes pg_user manages, in diff order,
// with their pg_roles columns.
var pgRoleAttrs = []struct{ flag, column string }{
	{"LOGIN", "rolcanlogin"},
	{"SUPERUSER", "rolsuper"},
	{"CREATEROLE", "rolcreaterole"},
	{"CREATEDB", "rolcreatedb"},
	{"INHERIT", "rolinherit"},
	{"REPLICATION", "rolreplication"},
	{"BYPASSRLS", "rolbypassrls"},
}

// pgRole is a role as Plan observed it.
type pgRole struct {
	exists   bool
	attrs    map[string]bool
	verifier string // pg_authid.rolpassword; "" when none
	readable bool   // pg_authid could be read
}

// pgUserPlan is what Apply runs: the statements, with the verifier
// already in them, and the connection arguments.
type pgUserPlan struct {
	args       module.Args
	name       string
	statements []string
	shown      []string // statements with the verifier masked
}

const pgMasked = "********"

func (pgUserModule) Plan(ctx context.Context, env *module.Env, args module.Args) (*module.Change, error) {
	name := argString(args, "name")
	if name == "" {
		return nil, fmt.Errorf("name is empty")
	}
	want, err := parseRoleAttrFlags(argString(args, "role_attr_flags"))
	if err != nil {
		return nil, err
	}
	want["LOGIN"] = argBool(args, "login")
	password, hasPassword := args["password"].(string)
	hasPassword = hasPassword && password != ""

	c, err := pgConnect(ctx, env.Host, args)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	role, err := readPgRole(ctx, c, name)
	if err != nil {
		return nil, err
	}

	ident := pgx.Identifier{name}.Sanitize()
	plan := &pgUserPlan{args: args, name: name}
	data := map[string]any{"user": name}
	unchanged := func(msg string) *module.Change {
		return &module.Change{Action: module.None, Summary: msg, Result: &module.Result{Msg: msg, Data: data}}
	}
	change := func(action module.Action, summary string, before, after string) *module.Change {
		data := map[string]any{"user": name, "queries": toAny(plan.shown)}
		ch := &module.Change{Action: action, Summary: summary, Data: plan,
			Result: &module.Result{Changed: true, Msg: summary, Data: data}}
		ch.Diffs = []module.Diff{{BeforeHeader: "role " + name, AfterHeader: "role " + name, Before: before, After: after}}
		return ch
	}
	add := func(stmt, shown string) {
		plan.statements = append(plan.statements, stmt)
		plan.shown = append(plan.shown, shown)
	}

	if argString(args, "state") == "absent" {
		if !role.exists {
			return unchanged(fmt.Sprintf("role %s is absent", name)), nil
		}
		add("DROP ROLE "+ident, "DROP ROLE "+ident)
		return change(module.Delete, "drop role "+name, describePgRole(role, "", false), ""), nil
	}

	// The attributes to set: those asked for that differ from the role's.
	var clauses []string
	after := map[string]bool{}
	for k, v := range role.attrs {
		after[k] = v
	}
	if !role.exists {
		after["INHERIT"] = true // CREATE ROLE's default
	}
	for _, a := range pgRoleAttrs {
		v, asked := want[a.flag]
		if !asked || (role.exists && role.attrs[a.flag] == v) {
			continue
		}
		if v {
			clauses = append(clauses, a.flag)
		} else {
			clauses = append(clauses, "NO"+a.flag)
		}
		after[a.flag] = v
	}
	passwordNote := ""
	setPassword := false
	if hasPassword {
		switch {
		case !role.exists:
			setPassword = true
		case !role.readable:
			setPassword, passwordNote = true, " (password cannot be compared: pg_authid is not readable; setting it)"
		default:
			setPassword = !scramVerifierMatches(role.verifier, password)
		}
	}
	if len(clauses) == 0 && !setPassword {
		return unchanged(fmt.Sprintf("role %s is as asked", name)), nil
	}
	stmt := strings.Join(clauses, " ")
	shown := stmt
	if setPassword {
		verifier, err := scramVerifier(password, nil, scramIterations)
		if err != nil {
			return nil, err
		}
		stmt = strings.TrimSpace(stmt + " PASSWORD " + pgQuoteLiteral(verifier))
		shown = strings.TrimSpace(shown + " PASSWORD '" + pgMasked + "'")
	}
	verb, action, summary := "ALTER", module.Update, "alter role "+name
	if !role.exists {
		verb, action, summary = "CREATE", module.Create, "create role "+name
	}
	prefix := verb + " ROLE " + ident
	if stmt != "" {
		prefix += " WITH "
	}
	add(prefix+stmt, prefix+shown)
	before := ""
	if role.exists {
		before = describePgRole(role, "", false)
	}
	return change(action, summary+passwordNote, before, describePgRole(pgRole{exists: true, attrs: after,
		verifier: role.verifier, readable: role.readable}, password, setPassword)), nil
}

func (pgUserModule) Apply(ctx context.Context, h module.MutableHost, c *module.Change) (*module.Result, error) {
	p := c.Data.(*pgUserPlan)
	conn, err := pgConnect(ctx, h, p.args)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for i, stmt := range p.statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			// The error names the statement as shown, never the verifier.
			return nil, fmt.Errorf("%s: %w", p.shown[i], err)
		}
	}
	return &module.Result{Changed: true, Msg: c.Summary, Data: map[string]any{"user": p.name, "queries": toAny(p.shown)}}, nil
}

// readPgRole reads a role's attributes from pg_roles and its verifier
// from pg_authid, in a read-only transaction that is rolled back.
func readPgRole(ctx context.Context, c *pgx.Conn, name string) (pgRole, error) {
	role := pgRole{attrs: map[string]bool{}}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return role, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only
	cols := make([]string, len(pgRoleAttrs))
	vals := make([]bool, len(pgRoleAttrs))
	dest := make([]any, len(pgRoleAttrs))
	for i, a := range pgRoleAttrs {
		cols[i], dest[i] = a.column, &vals[i]
	}
	err = tx.QueryRow(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM pg_catalog.pg_roles WHERE rolname = $1", name).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return role, nil
	}
	if err != nil {
		return role, fmt.Errorf("read role %s: %w", name, err)
	}
	role.exists = true
	for i, a := range pgRoleAttrs {
		role.attrs[a.flag] = vals[i]
	}
	var verifier *string
	err = tx.QueryRow(ctx, "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1", name).Scan(&verifier)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42501": // insufficient_privilege
		return role, nil
	case err != nil:
		return role, fmt.Errorf("read password of role %s: %w", name, err)
	}
	role.readable = true
	if verifier != nil {
		role.verifier = *verifier
	}
	return role, nil
}

// parseRoleAttrFlags reads Ansible's role_attr_flags ("CREATEDB,NOSUPERUSER")
// into attribute -> wanted value. LOGIN is the login argument's.
func parseRoleAttrFlags(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, f := range strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return r == ',' || r == ' ' }) {
		flag, value := f, true
		if rest, ok := strings.CutPrefix(f, "NO"); ok {
			flag, value = rest, false
		}
		known := false
		for _, a := range pgRoleAttrs {
			known = known || a.flag == flag
		}
		if !known || flag == "LOGIN" {
			if flag == "LOGIN" {
				return nil, fmt.Errorf("role_attr_flags: use the login argument instead of %s", f)
			}
			return nil, fmt.Errorf("role_attr_flags: unknown attribute %q (known: SUPERUSER, CREATEROLE, CREATEDB, INHERIT, REPLICATION, BYPASSRLS, each with NO)", f)
		}
		if prev, seen := out[flag]; seen && prev != value {
			return nil, fmt.Errorf("role_attr_flags: %s given both ways", flag)
		}
		out[flag] = value
	}
	return out, nil
}

// describePgRole is a role's text for --diff: one attribute a line, the
// password masked; newPassword marks a password that will be set.
func describePgRole(r pgRole, password string, newPassword bool) string {
	var b strings.Builder
	for _, a := range pgRoleAttrs {
		fmt.Fprintf(&b, "%s: %t\n", strings.ToLower(a.flag), r.attrs[a.flag])
	}
	switch {
	case newPassword:
		b.WriteString("password: " + pgMasked + " (new)\n")
	case !r.readable && r.exists:
		b.WriteString("password: (not readable)\n")
	case r.verifier != "" || password != "":
		b.WriteString("password: " + pgMasked + "\n")
	default:
		b.WriteString("password: (none)\n")
	}
	return b.String()
}

// pgQuoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func pgQuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// scramKeys computes RFC 5802's StoredKey and ServerKey for SHA-256.
// The password is used as its UTF-8 bytes: SASLprep is not applied, which
// matches PostgreSQL for ASCII passwords and for those already in NFKC form.
func scramKeys(password string, salt []byte, iterations int) (storedKey, serverKey []byte) {
	salted := pbkdf2.Key([]byte(password), salt, iterations, sha256.Size, sha256.New)
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], mac(salted, "Server Key")
}

// scramVerifier returns PostgreSQL's stored form of a SCRAM-SHA-256
// password: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>,
// base64 each. A nil salt draws 16 random bytes.
func scramVerifier(password string, salt []byte, iterations int) (string, error) {
	if salt == nil {
		salt = make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return "", fmt.Errorf("salt: %w", err)
		}
	}
	stored, server := scramKeys(password, salt, iterations)
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, enc(salt), enc(stored), enc(server)), nil
}

// scramVerifierMatches says whether verifier (from pg_authid) holds
// password, recomputing the keys with its salt and iteration count. Any
// other form (md5, none, malformed) does not match, so it is replaced.
func scramVerifierMatches(verifier, password string) bool {
	rest, ok := strings.CutPrefix(verifier, "SCRAM-SHA-256$")
	if !ok {
		return false
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	iterText, saltText, ok1 := strings.Cut(params, ":")
	storedText, serverText, ok2 := strings.Cut(keys, ":")
	iterations, err := strconv.Atoi(iterText)
	if !ok1 || !ok2 || err != nil || iterations < 1 {
		return false
	}
	dec := base64.StdEncoding.DecodeString
	salt, err1 := dec(saltText)
	stored, err2 := dec(storedText)
	server, err3 := dec(serverText)
	if err1 != nil || err2 != nil || err3 != nil {
		return false
	}
	gotStored, gotServer := scramKeys(password, salt, iterations)
	return subtle.ConstantTimeCompare(gotStored, stored) == 1 && subtle.ConstantTimeCompare(gotServer, server) == 1
}
