package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// SortJoin renders a raw JSON object as Huawei's string-to-sign ("排序拼接"):
// keys sorted by byte value, "key=value" joined with "&", the top-level
// "sign" field dropped, null fields omitted, empty strings kept ("key="),
// strings raw (unescaped, no quotes), numbers exactly as written, booleans
// as true/false, nested objects rendered the same way (recursively) as the
// value, and lists as their elements rendered and joined with ",".
//
// It works on the raw bytes, never on a re-marshalled struct, so the string
// is what the sender signed. Duplicate keys and trailing data are errors.
func SortJoin(raw []byte) (string, error) {
	n, err := parseJSON(raw)
	if err != nil {
		return "", err
	}
	if n.kind != kindObject {
		return "", errors.New("sort-join: not a JSON object")
	}
	var b strings.Builder
	writeObject(&b, n.obj, true)
	return b.String(), nil
}

// SortJoinFields sort-joins flat string fields (the PayMercAuth header
// fields). Empty values are kept as "key=".
func SortJoinFields(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(fields[k])
	}
	return b.String()
}

type jsonKind int

const (
	kindNull jsonKind = iota
	kindScalar
	kindObject
	kindArray
)

type jsonNode struct {
	kind jsonKind
	text string // scalar text: string value, number literal, true/false
	obj  []jsonField
	arr  []jsonNode
}

type jsonField struct {
	key string
	val jsonNode
}

const maxDepth = 64

func parseJSON(raw []byte) (jsonNode, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := parseValue(dec, 0)
	if err != nil {
		return jsonNode{}, fmt.Errorf("sort-join: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonNode{}, errors.New("sort-join: data after the JSON value")
	}
	return n, nil
}

func parseValue(dec *json.Decoder, depth int) (jsonNode, error) {
	if depth > maxDepth {
		return jsonNode{}, errors.New("nested too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return jsonNode{}, io.ErrUnexpectedEOF
		}
		return jsonNode{}, err
	}
	switch t := tok.(type) {
	case nil:
		return jsonNode{kind: kindNull}, nil
	case string:
		return jsonNode{kind: kindScalar, text: t}, nil
	case json.Number:
		return jsonNode{kind: kindScalar, text: t.String()}, nil
	case bool:
		if t {
			return jsonNode{kind: kindScalar, text: "true"}, nil
		}
		return jsonNode{kind: kindScalar, text: "false"}, nil
	case json.Delim:
		switch t {
		case '{':
			n := jsonNode{kind: kindObject}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jsonNode{}, err
				}
				key, ok := kt.(string)
				if !ok {
					return jsonNode{}, errors.New("object key is not a string")
				}
				if seen[key] {
					return jsonNode{}, fmt.Errorf("duplicate key %q", key)
				}
				seen[key] = true
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return jsonNode{}, err
				}
				n.obj = append(n.obj, jsonField{key: key, val: v})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return jsonNode{}, err
			}
			sort.Slice(n.obj, func(i, j int) bool { return n.obj[i].key < n.obj[j].key })
			return n, nil
		case '[':
			n := jsonNode{kind: kindArray}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return jsonNode{}, err
				}
				n.arr = append(n.arr, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return jsonNode{}, err
			}
			return n, nil
		}
	}
	return jsonNode{}, fmt.Errorf("unexpected token %v", tok)
}

func writeObject(b *strings.Builder, fields []jsonField, top bool) {
	first := true
	for _, f := range fields {
		if f.val.kind == kindNull || (top && f.key == "sign") {
			continue
		}
		if !first {
			b.WriteByte('&')
		}
		first = false
		b.WriteString(f.key)
		b.WriteByte('=')
		writeValue(b, f.val)
	}
}

func writeValue(b *strings.Builder, n jsonNode) {
	switch n.kind {
	case kindScalar:
		b.WriteString(n.text)
	case kindObject:
		writeObject(b, n.obj, false)
	case kindArray:
		first := true
		for _, e := range n.arr {
			if e.kind == kindNull {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeValue(b, e)
		}
	}
}
