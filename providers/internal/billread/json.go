package billread

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// CheckJSONText checks that a JSON document (a page of records such as
// {"meta":…,"objects":[…]}) is valid UTF-8 over all of it: encoding/json
// would read invalid bytes as U+FFFD without a word. The error names file,
// the record of "objects" holding the bad byte (as its line) and the key
// before it (as its column).
func CheckJSONText(file string, body []byte) error {
	if utf8.Valid(body) {
		return nil
	}
	off := invalidUTF8(body)
	rec, col := locateJSON(body, off)
	return &Error{File: file, Line: rec, Column: col, Err: fmt.Errorf("%w: not valid UTF-8 at byte %d", ErrEncoding, off)}
}

// locateJSON finds which element of the first array holds byte off (its
// 1-based index, 0 if none) and the last object key before off.
func locateJSON(body []byte, off int) (int, string) {
	col := ""
	if i := bytes.LastIndex(body[:off], []byte(`":`)); i >= 0 {
		if j := bytes.LastIndexByte(body[:i], '"'); j >= 0 {
			col = string(body[j+1 : i])
			if !utf8.ValidString(col) || len(col) > 64 {
				col = ""
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, rec := 0, 0
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil || int(start) > off {
			return rec, col
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '[', '{':
				depth++
				if depth == 3 && d == '{' { // {"objects":[ {…} ]}
					rec++
				}
			case ']', '}':
				depth--
			}
		}
		_ = start
	}
}
