package jobs

import (
	"errors"
	"fmt"

	"github.com/payrecon/payrecon"
)

// lineError names the file, line and column of a bill line that failed the
// domain validation. The column is the provider's own header when it
// declares one (payrecon.BillColumnNamer), else the BillLine field.
func lineError(p any, bill payrecon.BillKind, l payrecon.BillLine, err error) error {
	col := ""
	var ve *payrecon.ValidationError
	if errors.As(err, &ve) {
		col = ve.Field
		if n, ok := p.(payrecon.BillColumnNamer); ok {
			if name := n.BillColumn(bill, ve.Field); name != "" {
				col = name + " (" + ve.Field + ")"
			}
		}
	}
	file := l.File
	if file == "" {
		file = string(bill) + " bill"
	}
	if col == "" {
		return fmt.Errorf("%s line %d: %w", file, l.LineNo, err)
	}
	return fmt.Errorf("%s line %d column %s: %w", file, l.LineNo, col, err)
}
