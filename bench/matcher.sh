#!/usr/bin/env bash
# Runs the matcher benchmarks recorded in docs/benchmarks.md ("Matcher").
# Usage: bench/matcher.sh [sizes]   (default faq,1k,10k,100k; the 100k bleve
# build takes about 30 s and 1 GB of memory)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-faq,1k,10k,100k}
echo "# $(date -u +%F) nproc=$(nproc) cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) $(go version)"
go test ./internal/match -run '^$' -bench BenchmarkMatch -benchtime 20000x -match.sizes "$sizes"
go test ./internal/match -run '^$' -bench 'BenchmarkBuild|BenchmarkRebuild' -benchtime 3x -match.sizes "$sizes"
# small catalogs build in tens of milliseconds, where one run is noisy:
# 6 x 20 builds each; docs/benchmarks.md quotes the median and the range
go test ./internal/match -run '^$' -bench 'BenchmarkBuild|BenchmarkRebuild' -benchtime 20x -count 6 -match.sizes faq,1k
go test -tags bleve ./internal/match -run '^$' -bench BenchmarkVsBleve -benchtime 2000x -timeout 60m -match.sizes "$sizes"
go test -tags bleve ./internal/match -run 'TestBleveBaselineQuality|TestQuality' -count=1 -v | grep -E 'cases|accuracy|rate|recall|abstention|decisions|bleve BM25 on|set \('
