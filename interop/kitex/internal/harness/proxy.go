package harness

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a target and can freeze them: while frozen it accepts
// connections and reads nothing, forwards nothing, as a database whose host hangs looks to its
// clients. Only the connections of the process under test pass through it, so the shared
// database server keeps serving every other test.
type Proxy struct {
	Addr   string
	target string

	mu       sync.Mutex
	frozen   bool
	thawed   *sync.Cond
	openings [][]byte
}

// StartProxy listens on a free loopback port and forwards to target until the test ends.
func StartProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target}
	p.thawed = sync.NewCond(&p.mu)
	var conns sync.Map
	t.Cleanup(func() {
		l.Close()
		p.Thaw()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
	})
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			upstream, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			conns.Store(client, nil)
			conns.Store(upstream, nil)
			go p.pipe(client, upstream, true)
			go p.pipe(upstream, client, false)
		}
	}()
	return p
}

// Freeze stops forwarding in both directions; connections stay open.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// Thaw forwards again whatever was held back.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	p.frozen = false
	p.mu.Unlock()
	p.thawed.Broadcast()
}

func (p *Proxy) waitThawed() {
	p.mu.Lock()
	for p.frozen {
		p.thawed.Wait()
	}
	p.mu.Unlock()
}

// Openings returns the first bytes each connection's client sent, in the order they came.
func (p *Proxy) Openings() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.openings...)
}

func (p *Proxy) pipe(from, to net.Conn, fromClient bool) {
	defer from.Close()
	defer to.Close()
	buf := make([]byte, 32<<10)
	first := fromClient
	for {
		p.waitThawed()
		n, err := from.Read(buf)
		if n > 0 && first {
			first = false
			p.mu.Lock()
			p.openings = append(p.openings, append([]byte(nil), buf[:min(n, 256)]...))
			p.mu.Unlock()
		}
		if n > 0 {
			p.waitThawed()
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
