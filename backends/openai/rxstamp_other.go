//go:build !linux

package openai

import (
	"context"
	"net"
	"time"
)

const kernelStamps = false

func dialStamped(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.DialContext
}

func received(conn net.Conn, now time.Time) time.Time { return now }
