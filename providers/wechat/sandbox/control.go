package sandbox

import "github.com/payrecon/payrecon"

// HoldRefunds makes the sandbox answer new refunds PROCESSING (pending)
// instead of SUCCESS, as WeChat Pay does for refunds that take time; the
// test settles them with Scenario.SetRefundStatus.
func (s *Sandbox) HoldRefunds(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdRefunds = hold
}

// newRefundStatus is the status a new refund starts in.
func (s *Sandbox) newRefundStatus() payrecon.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holdRefunds {
		return payrecon.StatusPending
	}
	return payrecon.StatusSuccess
}
