package expr

// node is one element of a parsed Jinja expression.
type node interface{ position() int }

type (
	nameNode struct {
		name string
		pos  int
	}
	litNode struct {
		val any
		pos int
	}
	listNode struct {
		items []node
		pos   int
	}
	dictNode struct {
		keys, vals []node
		pos        int
	}
	attrNode struct {
		obj  node
		name string
		pos  int
	}
	itemNode struct {
		obj, key node
		pos      int
	}
	sliceNode struct {
		obj, lo, hi, step node // nil when omitted
		pos               int
	}
	callNode struct {
		fn   node
		args argList
		pos  int
	}
	filterNode struct {
		input node
		name  string
		args  argList
		pos   int
	}
	testNode struct {
		input  node
		name   string
		args   argList
		negate bool
		pos    int
	}
	unaryNode struct {
		op  string // "-", "+", "not"
		x   node
		pos int
	}
	binNode struct {
		op   string // arithmetic, "~", "and", "or"
		l, r node
		pos  int
	}
	// cmpNode is a comparison chain: a < b <= c.
	cmpNode struct {
		ops      []string // "==", "<", "in", "notin", ...
		operands []node
		pos      int
	}
	condNode struct {
		cond, then, els node // els nil when there is no else
		pos             int
	}
)

type argList struct {
	pos    []node
	kwKeys []string
	kwVals []node
}

func (n *nameNode) position() int   { return n.pos }
func (n *litNode) position() int    { return n.pos }
func (n *listNode) position() int   { return n.pos }
func (n *dictNode) position() int   { return n.pos }
func (n *attrNode) position() int   { return n.pos }
func (n *itemNode) position() int   { return n.pos }
func (n *sliceNode) position() int  { return n.pos }
func (n *callNode) position() int   { return n.pos }
func (n *filterNode) position() int { return n.pos }
func (n *testNode) position() int   { return n.pos }
func (n *unaryNode) position() int  { return n.pos }
func (n *binNode) position() int    { return n.pos }
func (n *cmpNode) position() int    { return n.pos }
func (n *condNode) position() int   { return n.pos }
