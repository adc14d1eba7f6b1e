package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/phpbridge/phpbridge/bridge"
)

// The settings of `phpbridge serve` are the fields of bridge.Config, found by
// reflection over their yaml tags so a new field is a flag, an environment
// variable and a YAML key without touching this file. Precedence: flags >
// environment > file > defaults (bridge.Config.WithDefaults).

const (
	envPrefix = "PHPBRIDGE_"
	configEnv = envPrefix + "CONFIG"
)

// kind is how a setting's text is parsed.
type kind int

const (
	kindString   kind = iota
	kindBool          // true/false, yes/no, on/off, 1/0
	kindInt           // decimal
	kindSize          // bytes, or k/m/g suffixed (nginx style); int fields tagged unit:"bytes"
	kindDuration      // Go duration ("30s"); a bare number means seconds (nginx style)
	kindList          // comma-separated in flags and env, a list in YAML
	kindOther         // anything else, decoded as a YAML value
)

// option is one Config field seen from the outside.
type option struct {
	key   string // yaml key and flag name, e.g. "max-body-size"
	env   string // e.g. "PHPBRIDGE_MAX_BODY_SIZE"
	field int    // index in bridge.Config
	kind  kind
}

var options = configOptions()

func configOptions() []option {
	t := reflect.TypeFor[bridge.Config]()
	var opts []option
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || key == "" || key == "-" {
			continue
		}
		opts = append(opts, option{key: key, env: envName(key), field: i, kind: kindOf(f)})
	}
	return opts
}

func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

func kindOf(f reflect.StructField) kind {
	switch t := f.Type; {
	case t == reflect.TypeFor[time.Duration]():
		return kindDuration
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		if f.Tag.Get("unit") == "bytes" {
			return kindSize
		}
		return kindInt
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return kindList
	}
	return kindOther
}

func lookupOption(key string) (option, bool) {
	for _, o := range options {
		if o.key == key {
			return o, true
		}
	}
	return option{}, false
}

// allowed says what a setting accepts, for error messages and help.
func (o option) allowed() string {
	switch o.kind {
	case kindBool:
		return "use true or false"
	case kindInt:
		return "use a whole number"
	case kindSize:
		return "use a number of bytes, or one with a k, m or g suffix like 512k, 100m, 1g"
	case kindDuration:
		return "use a number with a unit like 500ms, 30s, 5m, 1h (a bare number means seconds)"
	}
	return "see phpbridge help serve"
}

// set parses s into field. For lists, add appends instead of replacing, so
// a repeated flag accumulates.
func (o option) set(field reflect.Value, s string, add bool) error {
	bad := func(what string) error { return fmt.Errorf("%q is not %s; %s", s, what, o.allowed()) }
	switch o.kind {
	case kindString:
		field.SetString(s)
	case kindBool:
		b, ok := parseBool(s)
		if !ok {
			return bad("a boolean")
		}
		field.SetBool(b)
	case kindInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || field.OverflowInt(n) {
			return bad("a whole number")
		}
		field.SetInt(n)
	case kindSize:
		n, err := parseSize(s)
		if err != nil || field.OverflowInt(n) {
			return bad("a size")
		}
		field.SetInt(n)
	case kindDuration:
		d, err := parseDuration(s)
		if err != nil {
			return bad("a duration")
		}
		field.SetInt(int64(d))
	case kindList:
		list := reflect.ValueOf(splitList(s)).Convert(field.Type())
		if add {
			list = reflect.AppendSlice(field.Slice3(0, field.Len(), field.Len()), list)
		}
		field.Set(list)
	default:
		if err := yaml.Unmarshal([]byte(s), field.Addr().Interface()); err != nil {
			return fmt.Errorf("%q is not a valid %s: %v", s, field.Type(), err)
		}
	}
	return nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		return true, true
	case "0", "f", "false", "no", "n", "off":
		return false, true
	}
	return false, false
}

// parseSize reads nginx-style sizes: "1048576", "512k", "100m", "1g"
// (binary multiples, case-insensitive; a trailing "b" or "ib" is allowed,
// so "100MB" and "100MiB" mean what people expect).
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			shift = 10
		case 'm':
			shift = 20
		case 'g':
			shift = 30
		case 't':
			shift = 40
		}
	}
	if shift > 0 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<63-1)>>shift {
		return 0, errors.New("bad size")
	}
	return n << shift, nil
}

// parseDuration is time.ParseDuration plus nginx's habit: a bare number is
// seconds, so "fastcgi-read-timeout: 300" works as it does in nginx.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(1<<63-1)/int64(time.Second) || n < -int64(1<<63-1)/int64(time.Second) {
			return 0, errors.New("out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

func splitList(s string) []string {
	list := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list
}

// loaded is the outcome of reading flags, environment and file.
type loaded struct {
	cfg bridge.Config
	// from maps a key to where its value came from ("flag --root",
	// "env PHPBRIDGE_ROOT", "phpbridge.yaml:3"); absent means default.
	from     map[string]string
	warnings []warning
}

// warning is logged once the logger exists (it depends on the config).
type warning struct {
	msg   string
	attrs []any
}

// errHelp is returned for -h/--help, which is not a failure.
var errHelp = flag.ErrHelp

// usageError is a command-line mistake (unknown flag, stray argument):
// the caller prints the usage after it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// load builds the Config from args (after "serve"), environ (os.Environ
// form) and the YAML file named by --config or PHPBRIDGE_CONFIG. It reports
// every bad value it can find at once, each naming the key, its source and
// what is allowed.
func load(args, environ []string) (*loaded, error) {
	env := make(map[string]string)
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, envPrefix) {
			env[k] = v
		}
	}
	res := &loaded{from: make(map[string]string)}

	// Flags are parsed first (a typo should fail before a file is read)
	// into a staging Config, and copied over file and env at the end.
	var staged bridge.Config
	flagSet := make(map[string]bool)
	var flagErr error
	fs := newFlagSet(&staged, flagSet, &flagErr)
	configPath := fs.String("config", "", "")
	if err := fs.Parse(args); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return nil, errHelp
		case flagErr != nil:
			return nil, flagErr
		}
		return nil, flagUsageError(err)
	}
	if fs.NArg() > 0 {
		return nil, &usageError{fmt.Sprintf("unexpected argument %q: serve takes only flags", fs.Arg(0))}
	}

	var errs []error
	path := *configPath
	if path == "" {
		path = env[configEnv]
	}
	if path != "" {
		errs = append(errs, loadFile(path, &res.cfg, res.from)...)
	}

	cv := reflect.ValueOf(&res.cfg).Elem()
	known := map[string]bool{configEnv: true}
	for _, o := range options {
		known[o.env] = true
		v, ok := env[o.env]
		if !ok || v == "" { // empty means unset, as compose files pass them
			continue
		}
		if err := o.set(cv.Field(o.field), v, false); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w (from env %s)", o.key, err, o.env))
			continue
		}
		res.from[o.key] = "env " + o.env
	}
	for _, name := range sortedKeys(env) {
		if !known[name] {
			hint := strings.TrimPrefix(didYouMean(name, envNames(), asIs), "; ")
			res.warnings = append(res.warnings, warning{"ignoring unknown environment variable", []any{"name", name, "hint", hint}})
		}
	}

	sv := reflect.ValueOf(&staged).Elem()
	for _, o := range options {
		if flagSet[o.key] {
			cv.Field(o.field).Set(sv.Field(o.field))
			res.from[o.key] = "flag --" + o.key
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// flagValue parses one flag into the staging Config and remembers that it
// was given.
type flagValue struct {
	opt    option
	staged *bridge.Config
	given  map[string]bool
	err    *error // the full message for the first bad value
}

func (f *flagValue) String() string { return "" }

func (f *flagValue) IsBoolFlag() bool { return f.opt.kind == kindBool }

func (f *flagValue) Set(s string) error {
	field := reflect.ValueOf(f.staged).Elem().Field(f.opt.field)
	if err := f.opt.set(field, s, f.given[f.opt.key]); err != nil {
		*f.err = fmt.Errorf("%s: %w (from flag --%s)", f.opt.key, err, f.opt.key)
		return err
	}
	f.given[f.opt.key] = true
	return nil
}

func newFlagSet(staged *bridge.Config, given map[string]bool, errp *error) *flag.FlagSet {
	fs := flag.NewFlagSet("phpbridge serve", flag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.Usage = func() {}
	for _, o := range options {
		fs.Var(&flagValue{opt: o, staged: staged, given: given, err: errp}, o.key, "")
	}
	return fs
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// flagUsageError rewrites the flag package's messages in the --double-dash
// form users type, with a suggestion for a misspelt flag.
func flagUsageError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		return &usageError{"unknown flag --" + name + didYouMean(name, append(optionKeys(), "config"), asFlag)}
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return &usageError{"flag --" + strings.TrimLeft(name, "-") + " needs a value"}
	}
	return &usageError{msg}
}

// loadFile applies the YAML file at path to cfg, recording each key's line.
func loadFile(path string, cfg *bridge.Config, from map[string]string) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("config file: %w", err)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []error{fmt.Errorf("config file %s: %w", path, err)}
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("config file %s:%d: must be a mapping of key: value", path, root.Line)}
	}
	var errs []error
	cv := reflect.ValueOf(cfg).Elem()
	seen := make(map[string]int)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		where := fmt.Sprintf("%s:%d", path, k.Line)
		o, ok := lookupOption(k.Value)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown key %q%s", where, k.Value, didYouMean(k.Value, optionKeys(), asIs)))
			continue
		}
		if line, dup := seen[o.key]; dup {
			errs = append(errs, fmt.Errorf("%s: %s is already set on line %d", where, o.key, line))
			continue
		}
		seen[o.key] = k.Line
		if err := setNode(o, cv.Field(o.field), v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w (in %s)", o.key, err, where))
			continue
		}
		if v.Tag != "!!null" {
			from[o.key] = where
		}
	}
	return errs
}

// setNode applies one YAML value. Scalars go through the same parsers as
// flags and env (so "100m" and "30s" work everywhere); null leaves the
// default.
func setNode(o option, field reflect.Value, v *yaml.Node) error {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return nil
	case v.Kind == yaml.ScalarNode:
		return o.set(field, v.Value, false)
	case o.kind == kindList && v.Kind == yaml.SequenceNode:
		list := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: list items must be plain values", item.Line)
			}
			list = append(list, item.Value)
		}
		field.Set(reflect.ValueOf(list).Convert(field.Type()))
		return nil
	case o.kind == kindOther:
		return v.Decode(field.Addr().Interface())
	}
	return errors.New("must be a single value, not a list or mapping; " + o.allowed())
}

func optionKeys() []string {
	keys := make([]string, len(options))
	for i, o := range options {
		keys[i] = o.key
	}
	return keys
}

func envNames() []string {
	names := []string{configEnv}
	for _, o := range options {
		names = append(names, o.env)
	}
	return names
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// didYouMean suggests up to three candidates close to name, formatted with
// show (which adds "--" for flags), so an unknown key comes with a way
// forward; with none close it points at the full list. Case, '_' versus '-'
// and the PHPBRIDGE_ prefix are ignored when comparing.
func didYouMean(name string, candidates []string, show func(string) string) string {
	norm := func(s string) string {
		return strings.TrimPrefix(strings.ToLower(strings.ReplaceAll(s, "_", "-")), "phpbridge-")
	}
	n := norm(name)
	type scored struct {
		s string
		d int
	}
	var close []scored
	for _, c := range candidates {
		cn := norm(c)
		d := levenshtein(n, cn)
		switch {
		case d <= max(2, len(cn)/3), hasAllWords(cn, n):
		case len(n) >= 4 && (strings.Contains(cn, n) || strings.Contains(n, cn)):
			d += 100 // a bare substring ranks below near-misses
		default:
			continue
		}
		close = append(close, scored{c, d})
	}
	if len(close) == 0 {
		return "; run phpbridge help serve for the list"
	}
	slices.SortStableFunc(close, func(a, b scored) int { return a.d - b.d })
	var names []string
	for i := 0; i < len(close) && i < 3; i++ {
		names = append(names, show(close[i].s))
	}
	if len(names) == 1 {
		return "; did you mean " + names[0] + "?"
	}
	return "; did you mean " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + "?"
}

// hasAllWords reports whether every dash-separated word of name occurs in
// key: "fastcgi-timeout" finds all three fastcgi-*-timeout keys.
func hasAllWords(key, name string) bool {
	words := strings.Split(key, "-")
	for w := range strings.SplitSeq(name, "-") {
		if !slices.Contains(words, w) {
			return false
		}
	}
	return strings.Contains(name, "-")
}

func asIs(s string) string { return s }

func asFlag(s string) string { return "--" + s }

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
