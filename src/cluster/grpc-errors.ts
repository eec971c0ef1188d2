// gRPC status errors with messages that say what was wrong.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';

export function grpcError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

export const unauthenticated = (why: string) => grpcError(status.UNAUTHENTICATED, why);
export const permissionDenied = (why: string) => grpcError(status.PERMISSION_DENIED, why);
export const invalidArgument = (why: string) => grpcError(status.INVALID_ARGUMENT, why);
export const alreadyExists = (why: string) => grpcError(status.ALREADY_EXISTS, why);
export const unavailable = (why: string) => grpcError(status.UNAVAILABLE, why);
