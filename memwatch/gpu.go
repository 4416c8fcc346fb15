package memwatch

import (
	"errors"
	"fmt"
	"time"
)

// ErrNoGPU is wrapped by [OpenGPU]'s error when there is nothing to measure: a
// build without cgo or outside Linux, no NVIDIA driver library (libnvidia-ml), a
// driver that does not start, or no device. Report no GPU metric then.
var ErrNoGPU = errors.New("no NVIDIA GPU")

// ErrNotOnGPU is wrapped by [GPU.StopCase]'s error when no device reported GPU
// memory for the case's PID: it ran on the CPU, or NVML cannot see it (another
// PID namespace). The GPUCase that comes with it still holds the energy of all
// devices.
var ErrNotOnGPU = errors.New("process holds no GPU memory that NVML reports")

// GPU measures one process's GPU memory and the GPUs' energy, one case at a time.
// Its methods are safe for concurrent use, but cases do not overlap.
type GPU interface {
	// Info describes the devices.
	Info() GPUInfo
	// StartCase starts measuring pid: it reads the energy counters and samples
	// pid's GPU memory now and every interval until StopCase.
	StartCase(pid int) error
	// StopCase ends the case begun by StartCase and returns what it measured.
	StopCase() (GPUCase, error)
	// Close ends a running case and unloads NVML.
	Close() error
}

// UsedMemoryReader is implemented by a GPU that can read the memory in use on
// all its devices together (by every process, and the driver), in bytes: a
// cross-check where per-process figures are missing.
type UsedMemoryReader interface {
	UsedMemory() (uint64, error)
}

// GPUInfo describes the devices, for config lines.
type GPUInfo struct {
	// Name is the first device's product name, e.g. "NVIDIA H100 80GB HBM3".
	Name string
	// Driver is the driver version, e.g. "580.159.04".
	Driver string
	// Memory is the first device's total memory in bytes.
	Memory uint64
	// PowerLimitW is the first device's enforced power limit in watts; 0 when
	// the driver does not tell.
	PowerLimitW float64
	// Count is the number of devices.
	Count int
}

// GPUCase is what one case measured.
type GPUCase struct {
	// PeakVRAM is the largest GPU memory in bytes that the PID held, summed over
	// devices, among the samples: NVML's per-process "used GPU memory", which
	// includes the CUDA context (hundreds of MiB) besides the framework's
	// allocations. A peak shorter than the sampling interval can be missed.
	PeakVRAM uint64
	// EnergyJ is the energy in joules that Devices consumed during the case
	// (whole devices: other processes on them count too).
	EnergyJ float64
	// AvgPowerW is EnergyJ divided by Duration, in watts.
	AvgPowerW float64
	// Duration is the time from StartCase to StopCase.
	Duration time.Duration
	// Samples is the number of memory samples taken (at least 2).
	Samples int
	// Devices are the indexes of the devices that EnergyJ counts: those where
	// the PID held memory, or all devices when it held none.
	Devices []int
	// EnergyMethod is "counter" when EnergyJ is the difference of the devices'
	// total-energy counters (Volta and later), "power-sampled" when it is
	// integrated from power readings at the sampling interval, or "mixed".
	EnergyMethod string
	// PowerSampledJ is the energy integrated from the power readings over the
	// same devices, a cross-check of a counter-based EnergyJ. The driver averages
	// each reading over up to a second, so it lags a sudden change.
	PowerSampledJ float64
	// PerDevice has one entry per index in Devices, in that order: what the
	// sums above are made of.
	PerDevice []DeviceUse
}

// DeviceUse is one device's part of a case.
type DeviceUse struct {
	// Index is the device's NVML index.
	Index int
	// PeakVRAM is the largest memory the PID held on this device among the
	// samples. The devices' peaks may fall in different samples, so their sum
	// can exceed GPUCase.PeakVRAM, the peak of the sum.
	PeakVRAM uint64
	// EnergyJ is this device's energy during the case, by the case's method.
	EnergyJ float64
}

// Notice returns one line for the user about err, the error of [OpenGPU]: for
// ErrNoGPU, that no GPU metric is reported and why. Print it once per run.
func Notice(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoGPU):
		return fmt.Sprintf("GPU not measured, no peak-vram-B or J/token in this run: %v", err)
	}
	return fmt.Sprintf("GPU measurement failed: %v", err)
}
