//go:build llamacpp && !linux

package llamacpp

func trimHeap() {}
