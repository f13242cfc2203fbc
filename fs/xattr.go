package fs

import "github.com/byobfs/byob/layout"

// Getxattr answers the one extended attribute the mount shows:
// layout.XattrKey ("user.byob.key"), the node's object key (a directory's
// prefix). Any other name is ErrNoAttr.
func (n *Node) Getxattr(name string) ([]byte, error) {
	if name == layout.XattrKey {
		return []byte(n.Key()), nil
	}
	return nil, ErrNoAttr
}

// Listxattr lists the extended attributes Getxattr answers.
func (n *Node) Listxattr() []string { return []string{layout.XattrKey} }

// Setxattr is refused: objects carry no extended attributes (ENOTSUP).
func (n *Node) Setxattr(name string, value []byte) error { return ErrNotSupported }

// Removexattr is refused like Setxattr.
func (n *Node) Removexattr(name string) error { return ErrNotSupported }
