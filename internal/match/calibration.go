package match

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// calibrationJSON is written by `go generate` (TestTrain -update); see
// docs/matcher.md. It holds the logistic model, the tuned fusion weights
// and the decision thresholds, so that one retraining updates all three.
//
//go:embed calibration.json
var calibrationJSON []byte

// Calibration is the trained abstention model: a logistic regression on
// standardised features that estimates the probability that a candidate is
// the right entry for the question.
type Calibration struct {
	Version    int        `json:"version"`
	Features   []string   `json:"features"`
	Mean       []float64  `json:"mean"`
	Scale      []float64  `json:"scale"`
	Coef       []float64  `json:"coef"`
	Bias       float64    `json:"bias"`
	Weights    Weights    `json:"weights"`
	Thresholds Thresholds `json:"thresholds"`
	// Training records how the model was made (data sizes, target
	// precision, metrics); informational only.
	Training map[string]any `json:"training,omitempty"`
}

// DefaultCalibration parses the embedded calibration. Each call returns a
// fresh value, so no package state is shared or mutable.
func DefaultCalibration() (*Calibration, error) {
	return ParseCalibration(calibrationJSON)
}

// DefaultThresholds are the calibrated defaults for match.answer_threshold
// and match.suggest_threshold.
func DefaultThresholds() Thresholds {
	c, err := DefaultCalibration()
	if err != nil {
		return Thresholds{}
	}
	return c.Thresholds
}

// ParseCalibration decodes and checks a calibration file.
func ParseCalibration(data []byte) (*Calibration, error) {
	var c Calibration
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("match: calibration: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Calibration) validate() error {
	if !slices.Equal(c.Features, featureNames) {
		return fmt.Errorf("match: calibration was trained on features %v but the matcher computes %v: retrain with `go generate ./internal/match`", c.Features, featureNames)
	}
	n := len(featureNames)
	if len(c.Mean) != n || len(c.Scale) != n || len(c.Coef) != n {
		return fmt.Errorf("match: calibration needs %d means, scales and coefficients", n)
	}
	for _, s := range c.Scale {
		if !(s > 0) {
			return fmt.Errorf("match: calibration scale must be > 0")
		}
	}
	return nil
}

func (c *Calibration) predict(f []float64) float64 {
	z := c.Bias
	for i, x := range f {
		z += c.Coef[i] * (x - c.Mean[i]) / c.Scale[i]
	}
	return 1 / (1 + math.Exp(-z))
}
