// Joining a multicast group on one port, and closing the socket: the receiver's media, key and RTCP sockets.
import type dgram from 'node:dgram';

export async function bindGroup(
  socket: dgram.Socket,
  group: string,
  port: number,
  iface: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, group, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.addMembership(group, iface);
  try {
    socket.setRecvBufferSize(8 * 1024 * 1024);
  } catch {
    // The kernel caps it at net.core.rmem_max; the default still works at demo rates.
  }
}

export function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}
