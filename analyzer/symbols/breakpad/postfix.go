package breakpad

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by EvalProgram and EvalExpr, to be tested with errors.Is.
var (
	ErrStackUnderflow  = errors.New("breakpad: postfix stack underflow")
	ErrUnknownVariable = errors.New("breakpad: unknown variable")
	ErrBadAssignment   = errors.New("breakpad: assignment to a non-$ identifier")
	ErrMemoryRead      = errors.New("breakpad: memory read failed")
	ErrDivideByZero    = errors.New("breakpad: division by zero")
	ErrLeftover        = errors.New("breakpad: values left on the postfix stack")
	ErrWordSize        = errors.New("breakpad: word size must be 4 or 8")
)

// maxStackDepth bounds the evaluation stack; real programs use a handful.
const maxStackDepth = 1024

// item is a postfix stack entry: a value, or an identifier that is resolved
// only when popped as a value (so that "=" can take it as a name).
type item struct {
	name  string // identifier, when not isVal
	val   uint64
	isVal bool
}

type evaluator struct {
	vars     map[string]uint64
	assigned map[string]uint64
	read     func(addr uint64) (uint64, bool)
	mask     uint64
	stack    []item
}

// EvalProgram runs a STACK WIN program string such as
// "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =" and returns the
// variables it assigned, with their final values. vars supplies the callee's
// registers ($eip, $esp, $ebp, ...) and the pseudo-variables the program may
// read (.cbSavedRegs, .cbLocals, .cbParams, .raSearch, .raSearchStart); it is
// not modified. read dereferences one word of wordSize bytes for "^".
// Arithmetic wraps at wordSize bytes, as Breakpad's 32-bit x86 evaluator does.
// A program is invalid if an operator lacks operands, a variable is unknown,
// or values remain on the stack at the end.
func EvalProgram(program string, vars map[string]uint64, read func(addr uint64) (uint64, bool), wordSize int) (map[string]uint64, error) {
	e, err := newEvaluator(vars, read, wordSize)
	if err != nil {
		return nil, err
	}
	if err := e.run(program); err != nil {
		return nil, err
	}
	if len(e.stack) != 0 {
		return nil, fmt.Errorf("%w: %d", ErrLeftover, len(e.stack))
	}
	return e.assigned, nil
}

// EvalExpr evaluates a postfix expression that must leave exactly one value,
// such as a STACK CFI rule ".cfa 4 - ^" or "$esp 8 +". For CFI, callers put
// the callee's registers in vars and, once computed, ".cfa" for the other
// rules. Assignments inside the expression are allowed and stay local.
func EvalExpr(expr string, vars map[string]uint64, read func(addr uint64) (uint64, bool), wordSize int) (uint64, error) {
	e, err := newEvaluator(vars, read, wordSize)
	if err != nil {
		return 0, err
	}
	if err := e.run(expr); err != nil {
		return 0, err
	}
	if len(e.stack) != 1 {
		if len(e.stack) == 0 {
			return 0, ErrStackUnderflow
		}
		return 0, fmt.Errorf("%w: %d", ErrLeftover, len(e.stack)-1)
	}
	return e.pop()
}

func newEvaluator(vars map[string]uint64, read func(addr uint64) (uint64, bool), wordSize int) (*evaluator, error) {
	var mask uint64
	switch wordSize {
	case 4:
		mask = 1<<32 - 1
	case 8:
		mask = ^uint64(0)
	default:
		return nil, ErrWordSize
	}
	return &evaluator{vars: vars, assigned: map[string]uint64{}, read: read, mask: mask}, nil
}

func (e *evaluator) run(program string) error {
	for _, tok := range strings.Fields(program) {
		// MSVC 2010 LTO sometimes glues "=" to the next token ("=$eip");
		// Breakpad splits it, and so do we.
		if len(tok) > 1 && tok[0] == '=' {
			if err := e.token("="); err != nil {
				return err
			}
			tok = tok[1:]
		}
		if err := e.token(tok); err != nil {
			return err
		}
	}
	return nil
}

func (e *evaluator) push(it item) error {
	if len(e.stack) >= maxStackDepth {
		return errors.New("breakpad: postfix stack too deep")
	}
	e.stack = append(e.stack, it)
	return nil
}

// popItem removes the top entry without resolving it.
func (e *evaluator) popItem() (item, error) {
	if len(e.stack) == 0 {
		return item{}, ErrStackUnderflow
	}
	it := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	return it, nil
}

// pop removes the top entry and resolves it to a value.
func (e *evaluator) pop() (uint64, error) {
	it, err := e.popItem()
	if err != nil {
		return 0, err
	}
	if it.isVal {
		return it.val, nil
	}
	return e.lookup(it.name)
}

func (e *evaluator) lookup(name string) (uint64, error) {
	if v, ok := e.assigned[name]; ok {
		return v, nil
	}
	if v, ok := e.vars[name]; ok {
		return v & e.mask, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownVariable, name)
}

func (e *evaluator) token(tok string) error {
	switch tok {
	case "+", "-", "*", "/", "%", "@":
		b, err := e.pop()
		if err != nil {
			return err
		}
		a, err := e.pop()
		if err != nil {
			return err
		}
		var r uint64
		switch tok {
		case "+":
			r = a + b
		case "-":
			r = a - b
		case "*":
			r = a * b
		case "/":
			if b == 0 {
				return ErrDivideByZero
			}
			r = a / b
		case "%":
			if b == 0 {
				return ErrDivideByZero
			}
			r = a % b
		case "@":
			// Align down: a @ b clears the low bits of a below power-of-two b.
			r = a &^ (b - 1)
		}
		return e.push(item{val: r & e.mask, isVal: true})
	case "^":
		a, err := e.pop()
		if err != nil {
			return err
		}
		if e.read == nil {
			return fmt.Errorf("%w: at %#x", ErrMemoryRead, a)
		}
		v, ok := e.read(a)
		if !ok {
			return fmt.Errorf("%w: at %#x", ErrMemoryRead, a)
		}
		return e.push(item{val: v & e.mask, isVal: true})
	case "=":
		v, err := e.pop()
		if err != nil {
			return err
		}
		id, err := e.popItem()
		if err != nil {
			return err
		}
		if id.isVal || !strings.HasPrefix(id.name, "$") {
			return ErrBadAssignment
		}
		e.assigned[id.name] = v
		return nil
	}
	if v, ok := literal(tok); ok {
		return e.push(item{val: v & e.mask, isVal: true})
	}
	return e.push(item{name: tok})
}

// literal parses a decimal number, optionally negative (CFI rules use
// ".cfa -8 + ^"); negatives wrap to two's complement.
func literal(tok string) (uint64, bool) {
	neg := false
	if len(tok) > 1 && tok[0] == '-' {
		neg, tok = true, tok[1:]
	}
	if tok == "" || len(tok) > 20 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, true
}
