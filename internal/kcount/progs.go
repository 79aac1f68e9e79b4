package kcount

import (
	"github.com/cilium/ebpf/asm"
)

// progs builds the three programs (see the package doc) for a set of maps
// and task_struct offsets.
type progs struct {
	traced, start, stats, lost int // map fds
	offs                       taskOffsets
	carrot                     int32 // carrot's pid: its children's execve is the program's
}

// Stack slots, below the frame pointer (R10).
const (
	stTgid   = -4  // u32 key of traced
	stTid    = -8  // u32 key of start
	stKey    = -16 // statKey: serial at -16, nr at -12
	stNr     = -12
	stNew    = -48 // 32 bytes: a new startRec or a zero statVal
	stTime   = -56 // u64: the call's time
	stErr    = -64 // u64: 1 if it failed
	stScrach = -72 // u64: probe reads, the lost map's key
)

// Raw tracepoint contexts are arrays of u64 arguments.
const (
	argRegs   = 0 // sys_enter, sys_exit: struct pt_regs *
	argID     = 8 // sys_enter: long id
	argRet    = 8 // sys_exit: long ret
	argNext   = 16
	maxErrno  = 4095
	updAny    = 0 // BPF_ANY
	updNoExst = 1 // BPF_NOEXIST
)

// stackPtr sets r to FP+off.
func stackPtr(r asm.Register, off int32) asm.Instructions {
	return asm.Instructions{asm.Mov.Reg(r, asm.RFP), asm.Add.Imm(r, off)}
}

func lookup(mapFd int, keyOff int32) asm.Instructions {
	out := asm.Instructions{asm.LoadMapPtr(asm.R1, mapFd)}
	out = append(out, stackPtr(asm.R2, keyOff)...)
	return append(out, asm.FnMapLookupElem.Call())
}

// currentIDs stores the current task's tid at stTid and its thread group
// id at stTgid.
func currentIDs() asm.Instructions {
	return asm.Instructions{
		asm.FnGetCurrentPidTgid.Call(),
		asm.StoreMem(asm.RFP, stTid, asm.R0, asm.Word),
		asm.RSh.Imm(asm.R0, 32),
		asm.StoreMem(asm.RFP, stTgid, asm.R0, asm.Word),
	}
}

// readKernel copies size bytes of kernel memory at R3 to the stack at off,
// and goes to "out" if it cannot.
func readKernel(off, size int32) asm.Instructions {
	return cat(stackPtr(asm.R1, off), asm.Instructions{
		asm.Mov.Imm(asm.R2, size),
		asm.FnProbeReadKernel.Call(),
		asm.JNE.Imm(asm.R0, 0, "out"),
	})
}

// zero64 stores a 64-bit 0 at dst+off (cilium's StoreImm refuses DWord,
// which the kernel takes: the immediate is sign-extended).
func zero64(dst asm.Register, off int16) asm.Instruction {
	return asm.Instruction{OpCode: asm.StoreImmOp(asm.DWord), Dst: dst, Offset: off}
}

// update stores the value on the stack at valOff under the key at keyOff.
func update(mapFd int, keyOff, valOff int32, flags int32) asm.Instructions {
	return cat(
		asm.Instructions{asm.LoadMapPtr(asm.R1, mapFd)},
		stackPtr(asm.R2, keyOff),
		stackPtr(asm.R3, valOff),
		asm.Instructions{asm.Mov.Imm(asm.R4, flags), asm.FnMapUpdateElem.Call()},
	)
}

// sym marks the first instruction of insns with a label.
func sym(name string, insns asm.Instructions) asm.Instructions {
	insns[0] = insns[0].WithSymbol(name)
	return insns
}

func cat(parts ...asm.Instructions) asm.Instructions {
	var out asm.Instructions
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// epilogue is "out: return 0", and with lost "lost: lost[0]++; return 0"
// (the verifier refuses unreachable code).
func (p *progs) epilogue(lost bool) asm.Instructions {
	out := asm.Instructions{asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return()}
	if !lost {
		return out
	}
	return cat(out,
		asm.Instructions{asm.StoreImm(asm.RFP, stScrach, 0, asm.Word).WithSymbol("lost")},
		lookup(p.lost, stScrach),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Imm(asm.R1, 1),
			asm.AddAtomic.Mem(asm.R0, asm.R1, asm.DWord, 0),
			asm.Ja.Label("out"),
		},
	)
}

// count adds one call to stats[key at stKey]: time at stTime, error flag
// at stErr. It falls through when done.
func (p *progs) count() asm.Instructions {
	return cat(
		lookup(p.stats, stKey),
		asm.Instructions{
			asm.JNE.Imm(asm.R0, 0, "have"),
			zero64(asm.RFP, stNew),
			zero64(asm.RFP, stNew+8),
			zero64(asm.RFP, stNew+16),
		},
		update(p.stats, stKey, stNew, updNoExst),
		// Another CPU may have made it meanwhile: look it up either way.
		lookup(p.stats, stKey),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "lost"),
			asm.Mov.Imm(asm.R1, 1).WithSymbol("have"),
			asm.AddAtomic.Mem(asm.R0, asm.R1, asm.DWord, valCalls),
			asm.LoadMem(asm.R1, asm.RFP, stErr, asm.DWord),
			asm.AddAtomic.Mem(asm.R0, asm.R1, asm.DWord, valErrors),
			asm.LoadMem(asm.R1, asm.RFP, stTime, asm.DWord),
			asm.AddAtomic.Mem(asm.R0, asm.R1, asm.DWord, valNs),
		},
	)
}

// enter is the sys_enter program.
//
//	R6 ctx, R7 the call's number, R9 the process's serial (0: not known)
func (p *progs) enter() asm.Instructions {
	return cat(
		asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.LoadMem(asm.R7, asm.R6, argID, asm.DWord),
		},
		currentIDs(),
		lookup(p.traced, stTgid),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "untraced"),
			asm.LoadMem(asm.R9, asm.R0, 0, asm.Word),
			// exit and exit_group never return, and strace -c does not
			// count them.
			asm.JEq.Imm(asm.R7, sysExit, "out"),
			asm.JEq.Imm(asm.R7, sysExitGroup, "out"),
			asm.Ja.Label("record"),

			// Not traced: only an execve by a child of carrot (its launcher
			// becoming the program) is recorded.
			asm.JEq.Imm(asm.R7, sysExecve, "launcher").WithSymbol("untraced"),
			asm.JNE.Imm(asm.R7, sysExecveat, "out"),
			asm.FnGetCurrentTask.Call().WithSymbol("launcher"),
			asm.Mov.Reg(asm.R3, asm.R0),
			asm.Add.Imm(asm.R3, p.offs.realParent),
		},
		readKernel(stScrach, 8),
		asm.Instructions{
			asm.LoadMem(asm.R3, asm.RFP, stScrach, asm.DWord),
			asm.Add.Imm(asm.R3, p.offs.tgid),
		},
		readKernel(stScrach, 4),
		asm.Instructions{
			asm.LoadMem(asm.R1, asm.RFP, stScrach, asm.Word),
			asm.JNE.Imm(asm.R1, p.carrot, "out"),
			asm.Mov.Imm(asm.R9, 0),
		},

		// record: start[tid] = {now, 0, 0, nr, serial}
		sym("record", lookup(p.start, stTid)),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "new"),
			asm.Mov.Reg(asm.R6, asm.R0),
			zero64(asm.R6, recOff),
			zero64(asm.R6, recOutAt),
			asm.StoreMem(asm.R6, recNr, asm.R7, asm.Word),
			asm.StoreMem(asm.R6, recSerial, asm.R9, asm.Word),
			asm.FnKtimeGetNs.Call(),
			asm.StoreMem(asm.R6, recEnter, asm.R0, asm.DWord),
			asm.Ja.Label("out"),

			zero64(asm.RFP, stNew+recOff).WithSymbol("new"),
			zero64(asm.RFP, stNew+recOutAt),
			asm.StoreMem(asm.RFP, stNew+recNr, asm.R7, asm.Word),
			asm.StoreMem(asm.RFP, stNew+recSerial, asm.R9, asm.Word),
			asm.FnKtimeGetNs.Call(),
			asm.StoreMem(asm.RFP, stNew+recEnter, asm.R0, asm.DWord),
		},
		update(p.start, stTid, stNew, updAny),
		asm.Instructions{
			asm.JNE.Imm(asm.R0, 0, "lost"),
			asm.Ja.Label("out"),
		},
		p.epilogue(true),
	)
}

// exit is the sys_exit program.
//
//	R6 ctx, R7 the task's startRec, R9 the process's serial
func (p *progs) exit() asm.Instructions {
	return cat(
		asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)},
		currentIDs(),
		lookup(p.start, stTid),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Reg(asm.R7, asm.R0),
			asm.LoadMem(asm.R1, asm.R7, recEnter, asm.DWord),
			asm.JEq.Imm(asm.R1, 0, "out"),
			// time = now - enter - off, at least 0
			asm.FnKtimeGetNs.Call(),
			asm.LoadMem(asm.R1, asm.R7, recEnter, asm.DWord),
			asm.Sub.Reg(asm.R0, asm.R1),
			asm.LoadMem(asm.R1, asm.R7, recOff, asm.DWord),
			asm.Sub.Reg(asm.R0, asm.R1),
			asm.JSGE.Imm(asm.R0, 0, "pos"),
			asm.Mov.Imm(asm.R0, 0),
			asm.StoreMem(asm.RFP, stTime, asm.R0, asm.DWord).WithSymbol("pos"),
			zero64(asm.R7, recEnter), // no longer in a call
			asm.LoadMem(asm.R1, asm.R7, recNr, asm.Word),
			asm.StoreMem(asm.RFP, stNr, asm.R1, asm.Word),
			asm.LoadMem(asm.R9, asm.R7, recSerial, asm.Word),
			asm.JNE.Imm(asm.R9, 0, "known"),
		},
		// The launcher's execve: its process is traced now, if it became
		// the program.
		lookup(p.traced, stTgid),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.LoadMem(asm.R9, asm.R0, 0, asm.Word),
			asm.StoreMem(asm.RFP, stKey, asm.R9, asm.Word).WithSymbol("known"),
			// failed: ret in [-4095, -1], i.e. ret+4095 < 4095 unsigned
			asm.LoadMem(asm.R1, asm.R6, argRet, asm.DWord),
			asm.Add.Imm(asm.R1, maxErrno),
			asm.Mov.Imm(asm.R2, 0),
			asm.JGE.Imm(asm.R1, maxErrno, "ok"),
			asm.Mov.Imm(asm.R2, 1),
			asm.StoreMem(asm.RFP, stErr, asm.R2, asm.DWord).WithSymbol("ok"),
		},
		p.count(),
		asm.Instructions{asm.Ja.Label("out")},
		p.epilogue(true),
	)
}

// schedSwitch is the sched_switch program.
//
//	R6 ctx, R7 now
func (p *progs) schedSwitch() asm.Instructions {
	return cat(
		asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.FnKtimeGetNs.Call(),
			asm.Mov.Reg(asm.R7, asm.R0),
			// prev is the current task: if it is in a call, it leaves the
			// CPU now.
			asm.FnGetCurrentPidTgid.Call(),
			asm.StoreMem(asm.RFP, stTid, asm.R0, asm.Word),
		},
		lookup(p.start, stTid),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "next"),
			asm.LoadMem(asm.R1, asm.R0, recEnter, asm.DWord),
			asm.JEq.Imm(asm.R1, 0, "next"),
			asm.StoreMem(asm.R0, recOutAt, asm.R7, asm.DWord),
			// next: its tid from its task_struct.
			asm.LoadMem(asm.R3, asm.R6, argNext, asm.DWord).WithSymbol("next"),
			asm.Add.Imm(asm.R3, p.offs.pid),
		},
		readKernel(stTgid, 4), // a free u32 slot
		asm.Instructions{
			asm.LoadMem(asm.R1, asm.RFP, stTgid, asm.Word),
			asm.JEq.Imm(asm.R1, 0, "out"), // the idle task
		},
		lookup(p.start, stTgid),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.LoadMem(asm.R1, asm.R0, recEnter, asm.DWord),
			asm.JEq.Imm(asm.R1, 0, "out"),
			asm.LoadMem(asm.R1, asm.R0, recOutAt, asm.DWord),
			asm.JEq.Imm(asm.R1, 0, "out"),
			// off += now - outAt; outAt = 0
			asm.Mov.Reg(asm.R2, asm.R7),
			asm.Sub.Reg(asm.R2, asm.R1),
			asm.LoadMem(asm.R1, asm.R0, recOff, asm.DWord),
			asm.Add.Reg(asm.R1, asm.R2),
			asm.StoreMem(asm.R0, recOff, asm.R1, asm.DWord),
			zero64(asm.R0, recOutAt),
		},
		p.epilogue(false),
	)
}
