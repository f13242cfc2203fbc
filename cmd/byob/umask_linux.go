package main

import "syscall"

// umask returns the process umask without changing it for long.
func umask() uint32 {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return uint32(m)
}
