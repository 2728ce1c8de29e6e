package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// cpuTicks parses a /proc/<pid>/stat line and returns utime+stime, in clock
// ticks. The command name (field 2) is parenthesised and may itself hold
// spaces and parentheses, so the fields are counted from the last ')'.
func cpuTicks(stat []byte) (uint64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat line without a command name: %q", stat)
	}
	// After ')' come field 3 (state) onwards; utime and stime are fields 14
	// and 15 (proc(5)).
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat line with %d fields after the name, want ≥ 13", len(fields))
	}
	utime, err := strconv.ParseUint(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseUint(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

// processCPU reads the CPU time process pid has used so far, in ticks.
// Errors: the process is gone, or /proc is not Linux's.
func processCPU(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return cpuTicks(b)
}

// clockTicks returns the kernel's clock ticks per second (sysconf
// _SC_CLK_TCK) through getconf, since reading it from Go needs cgo. Linux
// has used 100 on every common architecture for decades, so that is the
// answer when getconf is missing.
func clockTicks(ctx context.Context) float64 {
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}
