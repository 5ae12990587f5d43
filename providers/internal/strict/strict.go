// Package strict is the one decoding boundary every provider's callback
// passes before anything in it is believed: JSON with no duplicate key at
// any depth (nor two keys equal but for case, which encoding/json would
// merge into one struct field), valid UTF-8 (no lone surrogates in escapes
// either), one value and nothing after it, and the JSON type the provider
// documents for each declared field; the Content-Type the provider sends;
// form bodies with no repeated parameter, valid percent-encoding and valid
// text in the declared charset; flat XML documents with one root, no
// repeated element and no DOCTYPE or entity declarations.
//
// Providers only declare facts (their media type, a Schema of documented
// field types); the checking lives here. Every failure is an *Error whose
// text is "<rule>: <field> <detail>", the rule being one of the Rule
// constants, so that a rejected callback's stored reason names it.
package strict

import "errors"

// Rules (the first word of every error's text).
const (
	RuleDuplicateKey  = "duplicate_key"  // a JSON object key given twice (or twice but for case)
	RuleUTF8          = "utf8"           // invalid UTF-8, a lone surrogate, an undeclared or unknown charset
	RuleJSONType      = "json_type"      // a JSON value of another type than the documented one
	RuleContentType   = "content_type"   // a Content-Type other than the provider's
	RuleRepeatedParam = "repeated_param" // a form parameter or XML element given twice
	RuleSyntax        = "syntax"         // not well-formed: trailing data, bad escapes, DOCTYPE, nesting
)

// Error is a strict-decoding failure. Error() is "<Rule>: <Field> <Detail>".
type Error struct {
	Rule   string // one of the Rule constants
	Field  string // where: a JSON path ("amount.total", "subOrders[1].totalAmount"), a parameter, "body", "Content-Type"
	Detail string
}

func (e *Error) Error() string { return e.Rule + ": " + e.Field + " " + e.Detail }

// Rule returns the rule an error from this package broke ("" when err is
// not one).
func Rule(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Rule
	}
	return ""
}

// MaxDepth bounds JSON and XML nesting; callbacks are a few levels deep.
const MaxDepth = 32
