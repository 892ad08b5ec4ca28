package telegram

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/candid-app/candid/internal/conversation"
	"github.com/candid-app/candid/internal/identity"
	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
)

// errNotConnected: Run has not reached Telegram yet; the outbox retries.
var errNotConnected = errors.New("telegram: not connected to the Bot API yet (is Run running?); the delivery will be retried")

// Deliver sends an outbox item (a therapist's answer) to the asker's chat.
// It opens the sealed address in memory only. A permanent failure (the seal
// expired or does not verify, the asker blocked the bot, the chat is gone)
// wraps moderation.ErrUndeliverable so the item is not retried; anything
// else is retried by the outbox. A message split in parts remembers which
// parts went out, so a retry does not repeat them.
func (b *Bot) Deliver(ctx context.Context, item store.OutboxItem) error {
	if item.Platform != Platform {
		return fmt.Errorf("telegram: outbox item for platform %q: %w", item.Platform, moderation.ErrUndeliverable)
	}
	addr, err := b.opts.Keys.Open(item.Address, b.now())
	if err != nil {
		if errors.Is(err, identity.ErrSealExpired) {
			return fmt.Errorf("telegram: the asker's address has expired: %w", moderation.ErrUndeliverable)
		}
		return fmt.Errorf("telegram: the asker's address cannot be opened (%v): %w", err, moderation.ErrUndeliverable)
	}
	chatID, err := strconv.ParseInt(addr.To, 10, 64)
	if addr.Platform != Platform || err != nil || chatID == 0 {
		return fmt.Errorf("telegram: the sealed address is not a Telegram chat: %w", moderation.ErrUndeliverable)
	}
	b.mu.RLock()
	api := b.api
	b.mu.RUnlock()
	if api == nil {
		return errNotConnected
	}
	var marks *sentMarks
	if item.Handle != "" && item.ID != "" {
		marks = &sentMarks{handle: item.Handle, id: item.ID}
	}
	r := conversation.Reply{Kind: conversation.Kind(item.Kind), Text: item.Text, Buttons: item.Buttons}
	if err := b.sendReply(ctx, api, chatID, item.Handle, r, marks); err != nil {
		if permanent(err) {
			e, _ := apiError(err)
			return fmt.Errorf("telegram: the asker's chat cannot receive messages (%s): %w", e.Message, moderation.ErrUndeliverable)
		}
		return fmt.Errorf("telegram: deliver: %w", err)
	}
	return nil
}
