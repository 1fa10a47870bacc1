//go:build !unix

package e2e

import "time"

// processCPU is not measured here; the benchmarks then report no CPU metric.
func processCPU() time.Duration { return 0 }
