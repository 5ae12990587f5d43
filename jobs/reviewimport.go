package jobs

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon"
)

// ReviewImportStore is what importing a reviewed workbook needs.
type ReviewImportStore interface {
	ReviewKey(ctx context.Context) ([]byte, error)
	GetReview(ctx context.Context, key string) (payrecon.Review, error)
	ReviewFieldsAt(ctx context.Context, key string, version int64) (payrecon.ReviewFields, error)
	ChangeReview(ctx context.Context, key string, c payrecon.ReviewChange) (payrecon.Review, bool, error)
}

// ImportRow names one workbook row in an import's result.
type ImportRow struct {
	Sheet  string
	Row    int
	Key    string
	Detail string
}

func (r ImportRow) String() string {
	s := fmt.Sprintf("%s row %d", r.Sheet, r.Row)
	if r.Key != "" {
		s += " (" + r.Key + ")"
	}
	return s + ": " + r.Detail
}

// ImportResult is what an import did with each row.
type ImportResult struct {
	Applied   []ImportRow // edits applied (audited as source workbook)
	Unchanged int         // rows not edited, or whose edit payrecon already has
	Refused   []ImportRow // identity or checksum does not verify, or an edit payrecon cannot take
	Conflicts []ImportRow // edited in the workbook but changed in payrecon since the export: not applied
}

// ImportReviewEdits applies a reviewed workbook's edits (read by
// reports.ReadReviewEdits) as actor. Each row must verify: its identity
// names a discrepancy, its version is one that discrepancy had, and its
// checksum (payrecon.ReviewMAC under the store's key over the identity
// cells and the review as exported at that version) matches; otherwise it
// is refused, naming the row. A verified row the reviewer edited is applied
// when the discrepancy is still at the exported version; when it changed in
// payrecon since, the row is reported as a conflict and not applied (unless
// payrecon already has exactly the edit: then it is unchanged, which makes a
// second import of the same file a no-op). A written-off state must name a
// configured reason code.
func ImportReviewEdits(ctx context.Context, st ReviewImportStore, edits []payrecon.ReviewEdit, actor string, reasonCodes []string) (ImportResult, error) {
	var res ImportResult
	secret, err := st.ReviewKey(ctx)
	if err != nil {
		return res, err
	}
	seen := map[string]int{}
	for _, e := range edits {
		row := ImportRow{Sheet: e.Sheet, Row: e.Row}
		refuse := func(format string, args ...any) {
			row.Detail = fmt.Sprintf(format, args...)
			res.Refused = append(res.Refused, row)
		}
		key, vs, ok := strings.Cut(e.ID, ":")
		version, verr := strconv.ParseInt(vs, 10, 64)
		if !ok || verr != nil || version < 0 || len(key) != 32 {
			refuse("no readable identity (审核标识 %q): not a row payrecon exported", e.ID)
			continue
		}
		row.Key = key
		cur, err := st.GetReview(ctx, key)
		if errors.Is(err, payrecon.ErrNotFound) {
			refuse("identity names no discrepancy (forged)")
			continue
		}
		if err != nil {
			return res, err
		}
		var exported payrecon.ReviewFields
		switch {
		case version == cur.Version:
			exported = cur.Fields()
		case version < cur.Version:
			if exported, err = st.ReviewFieldsAt(ctx, key, version); errors.Is(err, payrecon.ErrNotFound) {
				refuse("version %d of the discrepancy is unknown (forged)", version)
				continue
			} else if err != nil {
				return res, err
			}
		default:
			refuse("version %d is newer than payrecon's %d (forged)", version, cur.Version)
			continue
		}
		mac := payrecon.ReviewMAC(secret, key, version, exported, e.Identity)
		if !hmac.Equal([]byte(mac), []byte(strings.ToLower(e.Checksum))) {
			refuse("checksum does not verify: the row was moved, its locked cells edited, or it was forged")
			continue
		}
		if first, dup := seen[key]; dup {
			refuse("identity repeated (first on row %d): copied row", first)
			continue
		}
		seen[key] = e.Row
		if e.StateErr != nil {
			refuse("处理状态: %v", e.StateErr)
			continue
		}
		want := exported
		if e.State != "" {
			want.State, want.ReasonCode, want.Rule = e.State, "", ""
			switch e.State {
			case payrecon.ReviewWrittenOff:
				want.ReasonCode = e.Code
			case payrecon.ReviewTolerated:
				want.Rule = e.Code
			}
		}
		want.Note, want.Assignee = e.Note, e.Assignee
		if sameReview(want, exported) {
			res.Unchanged++
			continue
		}
		if want.State == payrecon.ReviewTolerated && (exported.State != payrecon.ReviewTolerated || want.Rule != exported.Rule) {
			refuse("处理状态: tolerated is set by the tolerance rules of a run, not by hand")
			continue
		}
		if want.State == payrecon.ReviewWrittenOff && !contains(reasonCodes, want.ReasonCode) {
			refuse("处理状态: reason code %q is not one of %s", want.ReasonCode, strings.Join(reasonCodes, ", "))
			continue
		}
		if cur.Version != version {
			if sameReview(want, cur.Fields()) {
				res.Unchanged++ // imported before
				continue
			}
			row.Detail = fmt.Sprintf("changed in payrecon since the export (version %d, now %d: %s by %s); not applied",
				version, cur.Version, stateText(cur.Fields()), cur.UpdatedBy)
			res.Conflicts = append(res.Conflicts, row)
			continue
		}
		c := payrecon.ReviewChange{Actor: actor, Source: payrecon.SourceWorkbook, IfVersion: version}
		if want.State != exported.State || want.ReasonCode != exported.ReasonCode {
			c.State, c.ReasonCode = &want.State, &want.ReasonCode
		}
		if want.Assignee != exported.Assignee {
			c.Assignee = &want.Assignee
		}
		if want.Note != exported.Note {
			c.Note, c.Comment = &want.Note, want.Note
		}
		after, _, err := st.ChangeReview(ctx, key, c)
		switch {
		case errors.Is(err, payrecon.ErrReviewConflict):
			row.Detail = "changed in payrecon while importing; not applied"
			res.Conflicts = append(res.Conflicts, row)
			continue
		case err != nil:
			refuse("%v", err)
			continue
		}
		row.Detail = fmt.Sprintf("%s → %s", describe(exported), describe(after.Fields()))
		res.Applied = append(res.Applied, row)
	}
	return res, nil
}

func sameReview(a, b payrecon.ReviewFields) bool {
	return a.State == b.State && a.ReasonCode == b.ReasonCode && a.Rule == b.Rule &&
		strings.TrimSpace(a.Note) == strings.TrimSpace(b.Note) && a.Assignee == b.Assignee
}

func stateText(f payrecon.ReviewFields) string {
	s := string(f.State)
	if c := f.ReasonCode + f.Rule; c != "" {
		s += ":" + c
	}
	return s
}

func describe(f payrecon.ReviewFields) string {
	s := stateText(f)
	if f.Assignee != "" {
		s += " @" + f.Assignee
	}
	return s
}
