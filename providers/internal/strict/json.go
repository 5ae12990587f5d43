package strict

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Type is a set of JSON types a field may have; combine with |.
type Type uint8

const (
	String  Type = 1 << iota
	Number       // any JSON number
	Integer      // a JSON number written without fraction or exponent ("100", "-5"; not "1.0", "1e2")
	Bool
	Null
	Object
	Array
)

var typeNames = []struct {
	t    Type
	name string
}{{String, "string"}, {Number, "number"}, {Integer, "integer"}, {Bool, "boolean"}, {Null, "null"}, {Object, "object"}, {Array, "array"}}

func (t Type) String() string {
	var parts []string
	for _, n := range typeNames {
		if t&n.t != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " or ")
}

// allows reports whether a value of type got (one bit; Integer for numbers
// written as integers, Number otherwise) is allowed by t.
func (t Type) allows(got Type) bool {
	if got == Integer {
		return t&(Integer|Number) != 0
	}
	return t&got != 0
}

// Schema declares the documented JSON type of fields by path: object keys
// joined with ".", array elements as "[]", e.g. "amount.total",
// "subOrders[].totalAmount", "promotion_detail[].amount". Keys match under
// case folding, as encoding/json matches struct fields ("TotalAmount" is
// checked as "totalAmount"). Fields it does not name are still checked for
// syntax, duplicate keys and UTF-8. A Schema must not change once used.
type Schema map[string]Type

// folded caches each Schema's paths case-folded, by the map's identity.
var folded sync.Map // map pointer -> Schema

func (s Schema) folded() Schema {
	if len(s) == 0 {
		return nil
	}
	key := reflect.ValueOf(s).UnsafePointer()
	if f, ok := folded.Load(key); ok {
		return f.(Schema)
	}
	f := make(Schema, len(s))
	for k, t := range s {
		f[string(appendFolded(nil, []byte(k)))] = t
	}
	folded.Store(key, f)
	return f
}

// appendFolded appends k case-folded: ASCII lower-cased, other runes
// mapped as fold does.
func appendFolded(dst, k []byte) []byte {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= utf8.RuneSelf {
			return append(dst, fold(k[i:])...)
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// Under returns s with every path put under prefix ("data" turns
// "total_cost" into "data.total_cost"), for a record that may arrive
// wrapped in an envelope.
func (s Schema) Under(prefix string) Schema {
	out := make(Schema, len(s))
	for k, t := range s {
		out[prefix+"."+k] = t
	}
	return out
}

// Merge returns the union of schemas (a later one wins on the same path).
func Merge(ss ...Schema) Schema {
	out := Schema{}
	for _, s := range ss {
		for k, t := range s {
			out[k] = t
		}
	}
	return out
}

// DecodeJSON checks body with CheckJSON against s, then unmarshals it into
// v with encoding/json. Errors from the check are *Error; an unmarshal
// error after a passing check is returned as is.
func DecodeJSON(body []byte, s Schema, v any) error {
	if err := CheckJSON(body, s); err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// CheckJSON checks that body is exactly one well-formed JSON value
// (surrounding whitespace allowed, nothing else after it; no byte-order
// mark), that no object at any depth — in arrays too — repeats a key or
// holds two keys equal under Unicode case folding (encoding/json matches
// struct fields that way and would keep the last), that every string and
// key is valid UTF-8 with no lone surrogate escape, and that every field s
// declares has one of the declared types. It allocates little: a path
// buffer and the keys of the open objects.
func CheckJSON(body []byte, s Schema) error {
	var (
		pathBuf  [64]byte
		frameBuf [8]frame
		keyBuf   [32][]byte
	)
	sc := scanner{data: body, schema: s.folded(), path: pathBuf[:0], frames: frameBuf[:0], keys: keyBuf[:0]}
	sc.skipSpace()
	if err := sc.value(0); err != nil {
		return err
	}
	sc.skipSpace()
	if sc.pos != len(sc.data) {
		return &Error{Rule: RuleSyntax, Field: "body", Detail: "has data after the JSON value at byte " + strconv.Itoa(sc.pos)}
	}
	return nil
}

type frame struct {
	key   []byte // raw key text (object member), nil for an array element
	index int
}

type scanner struct {
	data   []byte
	pos    int
	schema Schema
	path   []byte   // schema path of the current value, case-folded
	frames []frame  // display path of the current value
	keys   [][]byte // keys of the open objects, innermost last
}

// where renders the display path of the current value ("body" at the root).
func (sc *scanner) where() string {
	if len(sc.frames) == 0 {
		return "body"
	}
	var b strings.Builder
	for i, f := range sc.frames {
		if f.key == nil {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.Write(f.key)
	}
	return b.String()
}

func (sc *scanner) syntax(detail string) error {
	return &Error{Rule: RuleSyntax, Field: sc.where(), Detail: detail + " at byte " + strconv.Itoa(sc.pos)}
}

func (sc *scanner) unexpected() error {
	if sc.pos >= len(sc.data) {
		return sc.syntax("ends early")
	}
	return sc.syntax("has unexpected " + strconv.QuoteRune(rune(sc.data[sc.pos])))
}

func (sc *scanner) skipSpace() {
	for sc.pos < len(sc.data) {
		switch sc.data[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

// value scans one value at sc.pos and checks its declared type.
func (sc *scanner) value(depth int) error {
	if depth > MaxDepth {
		return sc.syntax("nests deeper than " + strconv.Itoa(MaxDepth) + " levels")
	}
	if sc.pos >= len(sc.data) {
		return sc.unexpected()
	}
	start := sc.pos
	var got Type
	switch c := sc.data[sc.pos]; {
	case c == '"':
		if _, err := sc.str(); err != nil {
			return err
		}
		got = String
	case c == '{':
		got = Object
		if err := sc.object(depth); err != nil {
			return err
		}
	case c == '[':
		got = Array
		if err := sc.array(depth); err != nil {
			return err
		}
	case c == 't':
		got = Bool
		if err := sc.literal("true"); err != nil {
			return err
		}
	case c == 'f':
		got = Bool
		if err := sc.literal("false"); err != nil {
			return err
		}
	case c == 'n':
		got = Null
		if err := sc.literal("null"); err != nil {
			return err
		}
	case c == '-' || (c >= '0' && c <= '9'):
		integer, err := sc.number()
		if err != nil {
			return err
		}
		got = Number
		if integer {
			got = Integer
		}
	default:
		return sc.unexpected()
	}
	if len(sc.schema) > 0 {
		if want, ok := sc.schema[string(sc.path)]; ok && !want.allows(got) {
			return &Error{Rule: RuleJSONType, Field: sc.where(), Detail: "is " + article(got) + excerpt(sc.data[start:sc.pos], got) + ", documented as " + want.String()}
		}
	}
	return nil
}

func article(t Type) string {
	switch t {
	case Integer:
		return "a number"
	case Object, Array:
		return "an " + t.String()
	}
	return "a " + t.String()
}

// excerpt quotes a short scalar for an error (never objects or arrays).
func excerpt(raw []byte, t Type) string {
	if t == Object || t == Array || t == Null {
		return ""
	}
	if len(raw) > 40 {
		return " (" + strconv.Quote(string(raw[:37])+"...") + ")"
	}
	return " (" + strconv.Quote(string(raw)) + ")"
}

func (sc *scanner) literal(word string) error {
	if !bytes.HasPrefix(sc.data[sc.pos:], []byte(word)) {
		return sc.unexpected()
	}
	sc.pos += len(word)
	return nil
}

// number scans a JSON number and reports whether it has no fraction or
// exponent.
func (sc *scanner) number() (integer bool, err error) {
	d := sc.data
	if d[sc.pos] == '-' {
		sc.pos++
	}
	digits := func() int {
		n := 0
		for sc.pos < len(d) && d[sc.pos] >= '0' && d[sc.pos] <= '9' {
			sc.pos++
			n++
		}
		return n
	}
	if sc.pos < len(d) && d[sc.pos] == '0' {
		sc.pos++
	} else if digits() == 0 {
		return false, sc.unexpected()
	}
	integer = true
	if sc.pos < len(d) && d[sc.pos] == '.' {
		sc.pos++
		integer = false
		if digits() == 0 {
			return false, sc.unexpected()
		}
	}
	if sc.pos < len(d) && (d[sc.pos] == 'e' || d[sc.pos] == 'E') {
		sc.pos++
		integer = false
		if sc.pos < len(d) && (d[sc.pos] == '+' || d[sc.pos] == '-') {
			sc.pos++
		}
		if digits() == 0 {
			return false, sc.unexpected()
		}
	}
	return integer, nil
}

// str scans a string at sc.pos (the opening quote) and returns its raw
// content (between the quotes) and whether it holds escapes.
func (sc *scanner) str() (raw []byte, err error) {
	d := sc.data
	sc.pos++ // opening quote
	start := sc.pos
	for sc.pos < len(d) {
		c := d[sc.pos]
		switch {
		case c == '"':
			raw = d[start:sc.pos]
			sc.pos++
			return raw, nil
		case c == '\\':
			if err := sc.escape(); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, sc.syntax("has a control character in a string")
		case c < utf8.RuneSelf:
			sc.pos++
		default:
			r, size := utf8.DecodeRune(d[sc.pos:])
			if r == utf8.RuneError && size <= 1 {
				return nil, &Error{Rule: RuleUTF8, Field: sc.where(), Detail: "has invalid UTF-8 at byte " + strconv.Itoa(sc.pos)}
			}
			sc.pos += size
		}
	}
	return nil, sc.syntax("has an unterminated string")
}

// escape scans one escape at sc.pos (the backslash); a \u escape of a
// surrogate must be a high surrogate followed by a low one.
func (sc *scanner) escape() error {
	d := sc.data
	if sc.pos+1 >= len(d) {
		sc.pos++
		return sc.unexpected()
	}
	switch d[sc.pos+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		sc.pos += 2
		return nil
	case 'u':
	default:
		sc.pos++
		return sc.syntax("has an invalid escape")
	}
	r, ok := hex4(d, sc.pos+2)
	if !ok {
		return sc.syntax("has an invalid \\u escape")
	}
	at := sc.pos
	sc.pos += 6
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		return &Error{Rule: RuleUTF8, Field: sc.where(), Detail: "has a lone low surrogate \\u" + strconv.FormatInt(int64(r), 16) + " at byte " + strconv.Itoa(at)}
	case r >= 0xD800 && r <= 0xDBFF:
		if sc.pos+1 < len(d) && d[sc.pos] == '\\' && d[sc.pos+1] == 'u' {
			if lo, ok := hex4(d, sc.pos+2); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				sc.pos += 6
				return nil
			}
		}
		return &Error{Rule: RuleUTF8, Field: sc.where(), Detail: "has a lone high surrogate \\u" + strconv.FormatInt(int64(r), 16) + " at byte " + strconv.Itoa(at)}
	}
	return nil
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unquote decodes a string's raw content (already validated by str).
func unquote(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(raw, i+2)
			i += 6
			if r >= 0xD800 && r <= 0xDBFF {
				lo, _ := hex4(raw, i+2)
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // " \ /
			out = append(out, raw[i+1])
		}
		i += 2
	}
	return out
}

// smallObject is how many keys are compared pairwise before an object's
// keys go into a map.
const smallObject = 16

func (sc *scanner) object(depth int) error {
	sc.pos++ // {
	sc.skipSpace()
	if sc.pos < len(sc.data) && sc.data[sc.pos] == '}' {
		sc.pos++
		return nil
	}
	base := len(sc.keys)
	pathLen := len(sc.path)
	defer func() {
		clear(sc.keys[base:])
		sc.keys = sc.keys[:base]
		sc.path = sc.path[:pathLen]
	}()
	var folded map[string][]byte // folded key -> first spelling, for large objects
	for {
		if sc.pos >= len(sc.data) || sc.data[sc.pos] != '"' {
			return sc.unexpected()
		}
		raw, err := sc.str()
		if err != nil {
			return err
		}
		key := unquote(raw)
		sc.frames = append(sc.frames, frame{key: raw})
		if prev, dup := sc.seen(key, base, &folded); dup {
			detail := "appears twice"
			if !bytes.Equal(prev, key) {
				detail = "repeats key " + strconv.Quote(string(prev)) + " (equal but for case)"
			}
			return &Error{Rule: RuleDuplicateKey, Field: sc.where(), Detail: detail}
		}
		sc.path = sc.path[:pathLen]
		if pathLen > 0 {
			sc.path = append(sc.path, '.')
		}
		sc.path = appendFolded(sc.path, key)
		sc.skipSpace()
		if sc.pos >= len(sc.data) || sc.data[sc.pos] != ':' {
			return sc.unexpected()
		}
		sc.pos++
		sc.skipSpace()
		if err := sc.value(depth + 1); err != nil {
			return err
		}
		sc.frames = sc.frames[:len(sc.frames)-1]
		sc.skipSpace()
		if sc.pos >= len(sc.data) {
			return sc.unexpected()
		}
		switch sc.data[sc.pos] {
		case ',':
			sc.pos++
			sc.skipSpace()
		case '}':
			sc.pos++
			return nil
		default:
			return sc.unexpected()
		}
	}
}

// seen records key among the open object's keys (from index base) and
// returns the earlier spelling when it repeats one, exactly or but for case.
func (sc *scanner) seen(key []byte, base int, folded *map[string][]byte) ([]byte, bool) {
	keys := sc.keys[base:]
	if *folded == nil && len(keys) < smallObject {
		for _, k := range keys {
			if bytes.EqualFold(k, key) {
				return k, true
			}
		}
		sc.keys = append(sc.keys, key)
		return nil, false
	}
	if *folded == nil {
		*folded = make(map[string][]byte, 2*smallObject)
		for _, k := range keys {
			(*folded)[fold(k)] = k
		}
	}
	f := fold(key)
	if prev, ok := (*folded)[f]; ok {
		return prev, true
	}
	(*folded)[f] = key
	sc.keys = append(sc.keys, key)
	return nil, false
}

// fold maps a key to a form shared by every key bytes.EqualFold deems equal
// to it (for the ASCII, Latin and Greek cases that matter here).
func fold(k []byte) string {
	return strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, string(k))
}

func (sc *scanner) array(depth int) error {
	sc.pos++ // [
	sc.skipSpace()
	if sc.pos < len(sc.data) && sc.data[sc.pos] == ']' {
		sc.pos++
		return nil
	}
	pathLen := len(sc.path)
	sc.path = append(sc.path, "[]"...)
	defer func() { sc.path = sc.path[:pathLen] }()
	for i := 0; ; i++ {
		sc.frames = append(sc.frames, frame{index: i})
		if err := sc.value(depth + 1); err != nil {
			return err
		}
		sc.frames = sc.frames[:len(sc.frames)-1]
		sc.skipSpace()
		if sc.pos >= len(sc.data) {
			return sc.unexpected()
		}
		switch sc.data[sc.pos] {
		case ',':
			sc.pos++
			sc.skipSpace()
		case ']':
			sc.pos++
			return nil
		default:
			return sc.unexpected()
		}
	}
}
