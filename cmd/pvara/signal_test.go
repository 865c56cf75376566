package main

import "syscall"

func signalProc(p *procHandle, sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }
