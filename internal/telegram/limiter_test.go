package telegram

import (
	"context"
	"testing"
	"time"
)

func TestLimiterPerChatBurstThenRate(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(clock.Now, clock.Sleep)
	ctx := context.Background()
	for i := 0; i < defaultChatBurst; i++ {
		if err := l.wait(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	if s := clock.sleeps(); len(s) != 0 {
		t.Fatalf("the burst waited: %v", s)
	}
	start := clock.Now()
	for i := 0; i < 5; i++ {
		if err := l.wait(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Five more messages in one chat need about five seconds (fake time).
	if got := clock.Now().Sub(start); got < 4*time.Second || got > 6*time.Second {
		t.Errorf("5 messages after the burst took %v of fake time, want ≈5s", got)
	}
}

func TestLimiterOtherChatsDoNotWait(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(clock.Now, clock.Sleep)
	ctx := context.Background()
	for i := 0; i < defaultChatBurst; i++ {
		_ = l.wait(ctx, 1)
	}
	l.pause(1, time.Hour) // chat 1 is flooding and was told to wait
	before := len(clock.sleeps())
	for chat := int64(2); chat < 20; chat++ {
		if err := l.wait(ctx, chat); err != nil {
			t.Fatal(err)
		}
	}
	if s := clock.sleeps()[before:]; len(s) != 0 {
		t.Errorf("other chats waited %v because of chat 1", s)
	}
}

func TestLimiterGlobal(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(clock.Now, clock.Sleep)
	ctx := context.Background()
	start := clock.Now()
	for chat := int64(1); chat <= 90; chat++ {
		if err := l.wait(ctx, chat); err != nil {
			t.Fatal(err)
		}
	}
	// 90 messages to 90 chats at 30/s with a burst of 30: about 2 s.
	if got := clock.Now().Sub(start); got < 1500*time.Millisecond || got > 3*time.Second {
		t.Errorf("90 messages took %v of fake time, want ≈2s", got)
	}
}

func TestLimiterPauseGlobalAndCancel(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(clock.Now, clock.Sleep)
	l.pause(0, 3*time.Second)
	start := clock.Now()
	if err := l.wait(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	if got := clock.Now().Sub(start); got < 3*time.Second {
		t.Errorf("a global pause of 3s was not honoured (waited %v)", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.pause(0, time.Hour)
	if err := l.wait(ctx, 5); err == nil {
		t.Error("wait ignored a cancelled context")
	}
}

func TestLimiterForgetsIdleChats(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(clock.Now, clock.Sleep)
	ctx := context.Background()
	for chat := int64(1); chat <= maxChatBuckets; chat++ {
		l.chatBucket(chat, clock.Now())
	}
	_ = l.wait(ctx, maxChatBuckets+1)
	if len(l.chats) > maxChatBuckets {
		t.Errorf("%d buckets kept, want at most %d", len(l.chats), maxChatBuckets)
	}
}
