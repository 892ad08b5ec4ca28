package slack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// Modal callback IDs and the input blocks they read.
const (
	cbWrite   = "candid_write"
	cbFAQ     = "candid_faq"
	cbConfirm = "candid_confirm"
	cbReject  = "candid_reject"

	blockAnswer  = "answer"
	blockOptions = "options"
	blockFAQ     = "faq"
	blockReason  = "reason"
)

// actor is how a Slack moderator appears to the moderation service, the
// audit log and the console: "slack:" + their Slack user ID. Staff IDs may be
// shown to other staff; in the channel it renders as a mention.
func actor(user string) moderation.Actor {
	return moderation.Actor{Name: "slack:" + user, Role: moderation.RoleModerator}
}

// handleInteraction processes an interactivity payload (a button press or a
// modal submission). It returns what to acknowledge with: nil for an empty
// acknowledgement, or a view_submission response.
func (a *App) handleInteraction(ctx context.Context, cb *slackgo.InteractionCallback) *slackgo.ViewSubmissionResponse {
	team := cb.Team.ID
	if team == "" {
		team = cb.User.TeamID
	}
	if err := a.checkTeam(team); err != nil {
		a.log.WarnContext(ctx, "slack: interaction refused", "err", err)
		if cb.Type == slackgo.InteractionTypeViewSubmission {
			return messageView("This app does not serve this workspace, or is still starting up. Nothing was changed.")
		}
		return nil
	}
	switch cb.Type {
	case slackgo.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) == 0 || cb.ActionCallback.BlockActions[0] == nil {
			return nil
		}
		act := cb.ActionCallback.BlockActions[0]
		switch {
		case strings.HasPrefix(act.ActionID, askerActionPrefix):
			a.handleAskerAction(ctx, cb, act)
		case strings.HasPrefix(act.ActionID, modActionPrefix):
			a.handleModAction(ctx, cb, act)
		}
		return nil
	case slackgo.InteractionTypeViewSubmission:
		return a.handleViewSubmission(ctx, cb)
	}
	return nil
}

// handleModAction handles a moderator button in the channel. It fails
// closed: whoever is not on the allow-list is told so and nothing changes.
func (a *App) handleModAction(ctx context.Context, cb *slackgo.InteractionCallback, act *slackgo.BlockAction) {
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	user := cb.User.ID
	if a.channel == "" || channel != a.channel || !userIDRE.MatchString(user) {
		a.log.WarnContext(ctx, "slack: moderator button outside the moderation channel ignored")
		return
	}
	if !a.allow.allowed(ctx, user) {
		a.log.InfoContext(ctx, "slack: a ticket button press by someone who is not a moderator was refused", "action", act.ActionID)
		a.ephemeral(ctx, channel, user, ":no_entry: Only the clinic's moderators can act on tickets, so nothing was changed. Ask an admin to add you to the moderators if you should be one.")
		return
	}
	id, ok := a.sig.verify(purposeTicket, act.Value)
	if !ok {
		a.ephemeral(ctx, channel, user, "That button is not valid any more. Nothing was changed.")
		return
	}
	who := actor(user)
	var err error
	switch act.ActionID {
	case actClaim:
		_, err = a.mod.Claim(ctx, who, id)
	case actRelease:
		_, err = a.mod.Release(ctx, who, id)
	case actWrite, actFAQ, actReject:
		var t store.Ticket
		if t, err = a.mod.Ticket(ctx, id); err == nil {
			if t.State.Terminal() {
				err = moderation.ErrIllegal
				break
			}
			var v slackgo.ModalViewRequest
			switch act.ActionID {
			case actWrite:
				v = a.writeView(t)
			case actFAQ:
				v = a.faqView(t)
			default:
				v = a.rejectView(t)
			}
			err = a.openView(ctx, cb.TriggerID, v)
		}
	case actBooking:
		ans := moderation.Answer{Booking: true}
		var text string
		if text, err = a.mod.Preview(ans); err == nil {
			var v slackgo.ModalViewRequest
			if v, err = a.confirmStep(ctx, who, id, ans, text); err == nil {
				err = a.openView(ctx, cb.TriggerID, v)
			}
		}
	case actBlock:
		if err = a.mod.BlockAsker(ctx, who, id, a.blockFor); err == nil {
			// The service's "blocked" event updates the message.
			a.ephemeral(ctx, channel, user, fmt.Sprintf("Blocked: whoever asked ticket `%s` can send no new questions for %d days.", escape(id), int(a.blockFor.Hours()/24)))
		}
	default:
		return
	}
	if err != nil {
		a.ephemeral(ctx, channel, user, escape(errorText(err)))
		if !isExpected(err) {
			a.log.ErrorContext(ctx, "slack: moderator action failed", "action", act.ActionID, "ticket", id, "err", err)
		}
	}
}

// errorText explains a moderation error to the moderator who caused it, as
// plain text (escape it for mrkdwn).
func errorText(err error) string {
	switch {
	case errors.Is(err, moderation.ErrNotFound):
		return "This ticket no longer exists (it expired or the asker withdrew it). Nothing was changed."
	case errors.Is(err, moderation.ErrNotClaimer):
		return "This ticket is claimed by another moderator. Nothing was changed."
	case errors.Is(err, moderation.ErrConflict):
		return "Another moderator acted on this ticket first; the ticket message shows what happened. Nothing was changed."
	case errors.Is(err, moderation.ErrIllegal):
		return "That is not possible in the ticket's current state (see the ticket message). Nothing was changed."
	case errors.Is(err, moderation.ErrForbidden):
		return "Your role does not allow this. Nothing was changed."
	case errors.Is(err, moderation.ErrInvalid):
		msg := err.Error()
		if i := strings.Index(msg, moderation.ErrInvalid.Error()+": "); i >= 0 {
			msg = msg[i+len(moderation.ErrInvalid.Error())+2:]
		}
		return upperFirst(msg)
	}
	return "Something went wrong, and nothing was changed. Please try again, or use the web console."
}

func isExpected(err error) bool {
	for _, e := range []error{moderation.ErrNotFound, moderation.ErrNotClaimer, moderation.ErrConflict, moderation.ErrIllegal, moderation.ErrForbidden, moderation.ErrInvalid} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

func (a *App) ephemeral(ctx context.Context, channel, user, text string) {
	err := a.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := a.api.PostEphemeralContext(ctx, channel, user, slackgo.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		a.log.WarnContext(ctx, "slack: could not send an ephemeral note", "err", err)
	}
}

func (a *App) openView(ctx context.Context, trigger string, v slackgo.ModalViewRequest) error {
	if trigger == "" {
		return errors.New("slack: the button press carried no trigger_id")
	}
	return a.call(ctx, "views.open", func(ctx context.Context) error {
		_, err := a.api.OpenViewContext(ctx, trigger, v)
		return err
	})
}

func mdText(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}

func plainText(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, false, false)
}

func modal(callback, metadata, title, submit string, blocks ...slackgo.Block) slackgo.ModalViewRequest {
	v := slackgo.ModalViewRequest{
		Type:            slackgo.VTModal,
		CallbackID:      callback,
		PrivateMetadata: metadata,
		Title:           plainText(truncateRunes(title, 24)),
		Close:           plainText("Cancel"),
		Blocks:          slackgo.Blocks{BlockSet: blocks},
	}
	if submit != "" {
		v.Submit = plainText(submit)
	}
	return v
}

// messageView replaces a modal with a short note (an error, or "not allowed").
func messageView(text string) *slackgo.ViewSubmissionResponse {
	v := modal("candid_note", "", "Candid", "", slackgo.NewSectionBlock(mdText(text), nil, nil))
	v.Close = plainText("Close")
	return slackgo.NewUpdateViewSubmissionResponse(&v)
}

func (a *App) questionBlocks(t store.Ticket) []slackgo.Block {
	return []slackgo.Block{
		slackgo.NewContextBlock("", mdText("Ticket `"+escape(t.ID)+"` — the asker sees only the answer, never your name.")),
		slackgo.NewSectionBlock(plainText(truncateRunes(cmp.Or(strings.TrimSpace(t.Question), "(empty)"), sectionLimit)), nil, nil),
	}
}

func bookingOption() *slackgo.InputBlock {
	cb := slackgo.NewCheckboxGroupsBlockElement("booking",
		slackgo.NewOptionBlockObject("booking", plainText("Add the clinic's booking link"), nil))
	in := slackgo.NewInputBlock(blockOptions, plainText("Booking"), nil, cb)
	in.Optional = true
	return in
}

func (a *App) writeView(t store.Ticket) slackgo.ModalViewRequest {
	input := slackgo.NewPlainTextInputBlockElement(plainText("Your answer, in plain words"), "text")
	input.Multiline = true
	input.MaxLength = moderation.MaxAnswerRunes
	blocks := a.questionBlocks(t)
	if d := strings.TrimSpace(t.Draft); d != "" {
		input.InitialValue = truncateRunes(d, moderation.MaxAnswerRunes)
		blocks = append(blocks, slackgo.NewContextBlock("", mdText(":robot_face: The box starts with the AI draft. Check and edit it: nothing is sent until you press *Send to asker* on the next screen.")))
	}
	blocks = append(blocks,
		slackgo.NewInputBlock(blockAnswer, plainText("Answer"), plainText("**bold**, *italic*, \"- \" bullets and [links](https://…) work."), input),
		bookingOption())
	return modal(cbWrite, a.sig.sign("modal/"+cbWrite, t.ID), "Write answer", "Preview", blocks...)
}

func (a *App) faqView(t store.Ticket) slackgo.ModalViewRequest {
	blocks := a.questionBlocks(t)
	var el slackgo.BlockElement
	if len(t.Candidates) > 0 {
		var opts []*slackgo.OptionBlockObject
		for i, c := range t.Candidates {
			if i == 100 {
				break
			}
			desc := fmt.Sprintf("%s · score %.2f", c.FAQID, c.Score)
			opts = append(opts, slackgo.NewOptionBlockObject(c.FAQID,
				plainText(truncateRunes(a.faqTitle(c.FAQID), buttonLabelLimit)), plainText(truncateRunes(desc, buttonLabelLimit))))
		}
		el = slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plainText("Choose an entry"), "faq", opts...)
	} else {
		el = slackgo.NewPlainTextInputBlockElement(plainText("FAQ entry ID, e.g. condom-broke"), "faq")
	}
	blocks = append(blocks, slackgo.NewInputBlock(blockFAQ, plainText("FAQ answer"), nil, el), bookingOption())
	return modal(cbFAQ, a.sig.sign("modal/"+cbFAQ, t.ID), "Send FAQ answer", "Preview", blocks...)
}

func (a *App) rejectView(t store.Ticket) slackgo.ModalViewRequest {
	var opts []*slackgo.OptionBlockObject
	for _, r := range a.mod.RejectReasons() {
		opts = append(opts, slackgo.NewOptionBlockObject(r.Code,
			plainText(truncateRunes(r.Label, buttonLabelLimit)), plainText(truncateRunes(r.AskerText, buttonLabelLimit))))
	}
	sel := slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plainText("Choose a reason"), "reason", opts...)
	blocks := append(a.questionBlocks(t),
		slackgo.NewInputBlock(blockReason, plainText("Reason"), plainText("The asker receives a kind explanation for the reason you choose."), sel))
	return modal(cbReject, a.sig.sign("modal/"+cbReject, t.ID), "Reject question", "Reject", blocks...)
}

// draft is a previewed answer waiting for "Send to asker". It is kept in the
// store (not in the modal, whose metadata holds 3000 characters at most) for
// an hour, bound to the moderator who previewed it.
type draft struct {
	Ticket string            `json:"ticket"`
	Answer moderation.Answer `json:"answer"`
	By     string            `json:"by"`
}

// confirmStep stores ans and returns the view that shows exactly what the
// asker will receive, with the button that sends it.
func (a *App) confirmStep(ctx context.Context, who moderation.Actor, id string, ans moderation.Answer, preview string) (slackgo.ModalViewRequest, error) {
	nonce := identity.NewID()
	b, _ := json.Marshal(draft{Ticket: id, Answer: ans, By: who.Name})
	if err := a.store.PutState(ctx, stateOwner, "draft:"+nonce, b, draftTTL); err != nil {
		return slackgo.ModalViewRequest{}, fmt.Errorf("slack: keep the previewed answer: %w", err)
	}
	blocks := []slackgo.Block{
		slackgo.NewSectionBlock(mdText("*The asker will receive exactly this* (ticket `"+escape(id)+"`):"), nil, nil),
		slackgo.NewDividerBlock(),
	}
	for i, c := range mrkdwnChunks(preview, sectionLimit) {
		if i == 90 { // Slack's limit is 100 blocks a modal
			break
		}
		blocks = append(blocks, slackgo.NewSectionBlock(mdText(c), nil, nil))
	}
	blocks = append(blocks, slackgo.NewDividerBlock(),
		slackgo.NewContextBlock("", mdText("Sent in the clinic's name: your name is not shown to the asker. Cancel to change it.")))
	return modal(cbConfirm, a.sig.sign("modal/"+cbConfirm, nonce), "Check and send", "Send to asker", blocks...), nil
}

// handleViewSubmission handles the moderators' modals. Like the buttons, it
// fails closed.
func (a *App) handleViewSubmission(ctx context.Context, cb *slackgo.InteractionCallback) *slackgo.ViewSubmissionResponse {
	v := cb.View
	switch v.CallbackID {
	case cbWrite, cbFAQ, cbConfirm, cbReject:
	default:
		return nil
	}
	if a.channel == "" || !a.allow.allowed(ctx, cb.User.ID) {
		a.log.InfoContext(ctx, "slack: a modal submission by someone who is not a moderator was refused")
		return messageView(":no_entry: Only the clinic's moderators can act on tickets, so nothing was changed.")
	}
	payload, ok := a.sig.verify("modal/"+v.CallbackID, v.PrivateMetadata)
	if !ok {
		return messageView("This form is not valid any more. Nothing was changed; please start again from the ticket message.")
	}
	who := actor(cb.User.ID)
	values := func(block, action string) slackgo.BlockAction {
		if v.State == nil {
			return slackgo.BlockAction{}
		}
		return v.State.Values[block][action]
	}
	booking := len(values(blockOptions, "booking").SelectedOptions) > 0
	switch v.CallbackID {
	case cbWrite:
		ans := moderation.Answer{Text: values(blockAnswer, "text").Value, Booking: booking}
		return a.previewStep(ctx, who, payload, ans, blockAnswer)
	case cbFAQ:
		f := values(blockFAQ, "faq")
		id := f.SelectedOption.Value
		if id == "" {
			id = strings.TrimSpace(f.Value)
		}
		if id == "" {
			return slackgo.NewErrorsViewSubmissionResponse(map[string]string{blockFAQ: "Choose an FAQ entry."})
		}
		return a.previewStep(ctx, who, payload, moderation.Answer{FAQID: id, Booking: booking}, blockFAQ)
	case cbReject:
		code := values(blockReason, "reason").SelectedOption.Value
		if code == "" {
			return slackgo.NewErrorsViewSubmissionResponse(map[string]string{blockReason: "Choose a reason."})
		}
		if _, err := a.mod.Reject(ctx, who, payload, code); err != nil {
			if !isExpected(err) {
				a.log.ErrorContext(ctx, "slack: reject failed", "ticket", payload, "err", err)
			}
			if errors.Is(err, moderation.ErrInvalid) {
				return slackgo.NewErrorsViewSubmissionResponse(map[string]string{blockReason: errorText(err)})
			}
			return messageView(escape(errorText(err)))
		}
		return slackgo.NewClearViewSubmissionResponse()
	default: // cbConfirm
		key := "draft:" + payload
		b, err := a.store.State(ctx, stateOwner, key)
		if errors.Is(err, store.ErrNotFound) {
			return messageView("This answer was already sent, or its preview expired (after an hour). Nothing more was sent.")
		}
		if err != nil {
			a.log.ErrorContext(ctx, "slack: cannot read a previewed answer", "err", err)
			return messageView(escape(errorText(err)))
		}
		var d draft
		if json.Unmarshal(b, &d) != nil || d.By != who.Name || d.Ticket == "" {
			return messageView("This preview belongs to another moderator. Nothing was sent.")
		}
		// Delete first: a double submission must not send twice.
		if err := a.store.DeleteState(ctx, stateOwner, key); err != nil {
			a.log.ErrorContext(ctx, "slack: cannot consume a previewed answer", "err", err)
			return messageView(escape(errorText(err)))
		}
		if _, err := a.mod.Answer(ctx, who, d.Ticket, d.Answer); err != nil {
			if !isExpected(err) {
				a.log.ErrorContext(ctx, "slack: answer failed", "ticket", d.Ticket, "err", err)
			}
			return messageView(escape(errorText(err)))
		}
		return slackgo.NewClearViewSubmissionResponse()
	}
}

// previewStep checks an answer with the moderation service and, if it is
// valid, moves the modal on to the confirmation view.
func (a *App) previewStep(ctx context.Context, who moderation.Actor, id string, ans moderation.Answer, block string) *slackgo.ViewSubmissionResponse {
	text, err := a.mod.Preview(ans)
	if err != nil {
		return slackgo.NewErrorsViewSubmissionResponse(map[string]string{block: truncateRunes(errorText(err), 150)})
	}
	v, err := a.confirmStep(ctx, who, id, ans, text)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: preview failed", "err", err)
		return messageView(escape(errorText(err)))
	}
	return slackgo.NewUpdateViewSubmissionResponse(&v)
}
