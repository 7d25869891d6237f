// Package promcheck evaluates the queries paved renders (Flagger's
// MetricTemplates, the dashboards' panels, the alert rules) with
// Prometheus' own engine over synthetic series of an app instrumented as
// the platform's metric vocabulary says: a module of its own, so that
// paved's go.mod never pulls in Prometheus.
package promcheck
