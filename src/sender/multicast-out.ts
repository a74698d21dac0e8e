// The sender's socket is the shared multicast sender of src/net/.
export { MulticastOut } from '../net/multicast-out.js';
