package scenario

import (
	"time"

	"github.com/payrecon/payrecon"
)

// SetRefundStatus settles a refund the provider holds as pending: it
// becomes st (success, failed or closed), finished at at for a success.
// Tests use it to play the provider finishing an asynchronous refund.
// False when no refund has that merchant refund number.
func (s *Scenario) SetRefundStatus(merchantRefundNo string, st payrecon.Status, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.Refunds {
		if r.MerchantRefundNo == merchantRefundNo {
			s.Refunds[i].Status = st
			if st == payrecon.StatusSuccess {
				s.Refunds[i].FinishedAt = at
			}
			return true
		}
	}
	return false
}
