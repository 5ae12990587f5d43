package jobs

import (
	"errors"
	"fmt"

	"github.com/payrecon/payrecon"
)

// lineError names the file, line and column of a bill line that failed the
// domain validation: the provider's column as its bills head it, where the
// provider declares it (payrecon.BillColumnsDeclarer), and the BillLine
// field the rule reads.
func lineError(src payrecon.Provider, bill payrecon.BillKind, l *payrecon.BillLine, err error) error {
	file := l.File
	if file == "" {
		file = string(bill) + " bill"
	}
	var ve *payrecon.ValidationError
	if !errors.As(err, &ve) || ve.Field == "" {
		return fmt.Errorf("%s line %d: %w", file, l.LineNo, err)
	}
	return fmt.Errorf("%s line %d column %s: %w", file, l.LineNo, payrecon.BillColumnOf(src, bill, l.Kind, ve.Field), err)
}
