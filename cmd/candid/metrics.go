package main

import (
	"context"
	"net/http"
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
