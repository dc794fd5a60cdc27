// Simple dual-port RAM: one write port with byte enables, one read port with
// a synchronous (registered) read. Written in the form Yosys and FPGA tools
// infer as block RAM; no reset on the storage or on the read register.
// Read-during-write of the same word returns the old contents.
//
// Timing: with OUT_REG the read word passes a second register (the block
// RAM's own output register where the tool maps it), so that nothing but a
// route follows the RAM's slow clock-to-out; the word then comes two cycles
// after re_i.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_sdp_ram #(
  parameter int unsigned WORDS  = 64,               // number of words (>= 2)
  parameter int unsigned DATA_W = 32,               // word width, a multiple of 8
  parameter bit          OUT_REG = 1'b0,            // 1: read data two cycles after re_i
  parameter int unsigned ADDR_W = $clog2(WORDS)     // address width (derived)
) (
  input  wire logic                clk_i,
  // write port
  input  wire logic                we_i,
  input  wire logic [ADDR_W-1:0]   waddr_i,
  input  wire logic [DATA_W-1:0]   wdata_i,
  input  wire logic [DATA_W/8-1:0] wbe_i,
  // read port: rdata_o holds the word at raddr_i one cycle after re_i (two with OUT_REG)
  input  wire logic                re_i,
  input  wire logic [ADDR_W-1:0]   raddr_i,
  output      logic [DATA_W-1:0]   rdata_o
);

  localparam int unsigned BYTES = DATA_W / 8;

  if (DATA_W % 8 != 0 || DATA_W == 0 || WORDS < 2) begin : g_bad_params
    $fatal(1, "vmsg_sdp_ram: DATA_W (%0d) must be a multiple of 8 and WORDS (%0d) >= 2",
           DATA_W, WORDS);
  end

  logic [DATA_W-1:0] mem_q [WORDS];
  logic [DATA_W-1:0] rdata_q;

  always_ff @(posedge clk_i) begin
    if (we_i) begin
      for (int unsigned b = 0; b < BYTES; b++) begin
        if (wbe_i[b]) mem_q[waddr_i][b*8 +: 8] <= wdata_i[b*8 +: 8];
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (re_i) rdata_q <= mem_q[raddr_i];
  end

  if (OUT_REG) begin : g_out_reg
    logic [DATA_W-1:0] rdata_out_q;
    always_ff @(posedge clk_i) rdata_out_q <= rdata_q;
    assign rdata_o = rdata_out_q;
  end else begin : g_no_out_reg
    assign rdata_o = rdata_q;
  end

`ifdef VMSG_ASSERT_ON
  // Addresses of enabled ports stay inside the array.
  `VMSG_ASSUME(a_waddr_range, we_i -> (32'(waddr_i) < WORDS),
    ("vmsg_sdp_ram: write address %0d out of range", waddr_i), clk_i, 1'b1)
  `VMSG_ASSUME(a_raddr_range, re_i -> (32'(raddr_i) < WORDS),
    ("vmsg_sdp_ram: read address %0d out of range", raddr_i), clk_i, 1'b1)
`endif

endmodule

`default_nettype wire
