package openai

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestKernelTimestamps checks that reads on a dialed connection carry the
// kernel's receive time: data that waited 50 ms in the socket before being read
// is stamped with its arrival, not with the read.
func TestKernelTimestamps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	send := make(chan string)
	sent := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for s := range send {
			c.Write([]byte(s))
			sent <- struct{}{}
		}
	}()
	conn, err := dialStamped(&net.Dialer{})(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, ok := conn.(*rxConn)
	if !ok {
		t.Fatalf("dialed %T, want *rxConn", conn)
	}
	buf := make([]byte, 16)
	// The kernel turns receive timestamps on shortly after the first socket asks
	// for them: wait for a stamped read.
	for i := 0; rc.last.Load() == 0; i++ {
		if i == 100 {
			t.Skip("the kernel gives no receive timestamps")
		}
		send <- "x"
		<-sent
		if _, err := conn.Read(buf); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}

	send <- "hello"
	<-sent
	time.Sleep(50 * time.Millisecond)
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	now := time.Now()
	rx := received(conn, now)
	if age := now.Sub(rx); age < 40*time.Millisecond || age > 10*time.Second {
		t.Errorf("data read 50ms after it arrived is stamped %v old", age)
	}
	close(send)
	if _, err := conn.Read(buf); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	if got := received(&net.TCPConn{}, now); !got.Equal(now) {
		t.Error("a plain connection is not stamped with now")
	}
}
