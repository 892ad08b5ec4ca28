package main

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/candid-app/candid/internal/moderation"
	"github.com/candid-app/candid/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are Prometheus counters. Labels are platforms and decisions only:
// never text, handles or IDs.
type metrics struct {
	reg       *prometheus.Registry
	decisions *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "candid_decisions_total",
		Help: "Engine decisions, commands and button actions, by platform.",
	}, []string{"platform", "decision"})
	m.reg.MustRegister(m.decisions, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Decision implements conversation.Recorder.
func (m *metrics) Decision(platform, decision string) {
	m.decisions.WithLabelValues(platform, decision).Inc()
}

type queueReader interface {
	Queue(ctx context.Context) ([]store.Ticket, moderation.QueueStats, error)
}

// queueCollector reads the queue at scrape time.
type queueCollector struct {
	q                                      queueReader
	open, claimed, urgent, oldest, undeliv *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.claimed
	ch <- c.urgent
	ch <- c.oldest
	ch <- c.undeliv
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, s, err := c.q.Queue(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.Open))
	ch <- prometheus.MustNewConstMetric(c.claimed, prometheus.GaugeValue, float64(s.Claimed))
	ch <- prometheus.MustNewConstMetric(c.urgent, prometheus.GaugeValue, float64(s.Urgent))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, s.OldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(c.undeliv, prometheus.GaugeValue, float64(s.Undelivered))
}

func (m *metrics) handler(q queueReader) http.Handler {
	m.reg.MustRegister(&queueCollector{q: q,
		open:    prometheus.NewDesc("candid_tickets_open", "Open tickets.", nil, nil),
		claimed: prometheus.NewDesc("candid_tickets_claimed", "Claimed tickets.", nil, nil),
		urgent:  prometheus.NewDesc("candid_tickets_urgent", "Urgent tickets waiting.", nil, nil),
		oldest:  prometheus.NewDesc("candid_ticket_oldest_age_seconds", "Age of the oldest waiting ticket.", nil, nil),
		undeliv: prometheus.NewDesc("candid_answers_undelivered", "Answered tickets whose delivery failed.", nil, nil),
	})
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// metricsAccess decides who reads /metrics. The counts are not asker text,
// but the queue's urgent count and the traffic by channel are the clinic's
// business, not the public's: on the main address (the one the public
// reaches) /metrics needs the bearer token; with no token it is off there
// and served only on metrics.listen, an address the operator keeps private.
type metricsAccess struct {
	token string
	h     http.Handler
}

func (m metricsAccess) authorized(r *http.Request) bool {
	if m.token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(m.token)) == 1
}

// public guards /metrics on the main address.
func (m metricsAccess) public() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case m.token == "":
			http.Error(w, "metrics are not served on this address: set metrics.listen (a private address) or metrics.token", http.StatusNotFound)
		case !m.authorized(r):
			w.Header().Set("WWW-Authenticate", `Bearer realm="candid metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <metrics.token>", http.StatusUnauthorized)
		default:
			m.h.ServeHTTP(w, r)
		}
	})
}

// private serves /metrics on metrics.listen: the token is asked for there
// too when one is set.
func (m metricsAccess) private() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.token != "" && !m.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="candid metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <metrics.token>", http.StatusUnauthorized)
			return
		}
		m.h.ServeHTTP(w, r)
	}))
	return mux
}
